"""CachedPhoneRecognizer against Presidio's PhoneRecognizer (the reference implementation)."""

from __future__ import annotations

import pytest
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from strongroom.deid.engine.phone import CachedPhoneRecognizer
from tests.deid.deid_texts import comparison_texts

TRICKY = [
    "call 212-555-0100 now",
    "a212-555-0100",  # a Latin letter right before: libphonenumber refuses
    "212-555-0100b and 212-555-0100",  # the same candidate, refused then accepted
    "%212-555-0100 or $212-555-0100 or 212-555-0100%",
    "+44 20 7946 0958, 020 7946 0958, +49 30 901820, +91 98765 43210, +972 2-123-4567",
    "dates 12/05/2021, 2021-05-12 10:30:00 and 10:30:15 are not phones",
    "pages 211-255 in vol. 3; (617) 555-0199 ext. 12; 1-800-555-0123",
    "(212) 555-0100) (212 555 0100",
    # a leading plus: one parse shared by the regions (also full-width, unknown and short codes)
    "\uff0b1 212 555 0100, +999 1234 5678, +1-302-300-4666x8037, +1 2, (+44) 20 7946 0958",
]


def _spans(recognizer: PhoneRecognizer, text: str) -> list[tuple[int, int, float]]:
    return sorted((r.start, r.end, r.score) for r in recognizer.analyze(text, ["PHONE_NUMBER"]))


@pytest.mark.parametrize("leniency", [0, 1, 2])
def test_same_findings_as_presidio(leniency: int) -> None:
    stock = PhoneRecognizer(leniency=leniency)
    cached = CachedPhoneRecognizer.replacing(stock)
    texts = TRICKY + list(comparison_texts())
    found = 0
    for text in texts + texts:  # the second pass runs on a warm cache
        want = _spans(stock, text)
        assert _spans(cached, text) == want, text
        found += len(want)
    assert found > 100


def test_replacing_keeps_the_configuration() -> None:
    stock = PhoneRecognizer(context=["tel"], supported_regions=("US", "GB"), leniency=2)
    cached = CachedPhoneRecognizer.replacing(stock)
    assert (cached.context, cached.supported_regions, cached.leniency, cached.name) == (
        ["tel"],
        ("US", "GB"),
        2,
        stock.name,
    )


@pytest.mark.parametrize("max_tries", [0, 1, 2, 3, 5, 8])
def test_the_try_budget_is_spent_as_libphonenumber_spends_it(max_tries: int) -> None:
    from phonenumbers import PhoneNumberMatcher

    from strongroom.deid.engine.phone import _CachingMatcher, _TextScan

    texts = [*TRICKY, "1-800-555-0123 x12 (2021) 555 0100 / 030 1234 5678 22 33 44"]
    for text in texts:
        for region in ("US", "GB", "DE"):
            want = [
                (m.start, m.end)
                for m in PhoneNumberMatcher(text, region, leniency=1, max_tries=max_tries)
            ]
            ours = _CachingMatcher(_TextScan(text), region, leniency=1, max_tries=max_tries)
            assert [(m.start, m.end) for m in ours] == want, (text, region)
