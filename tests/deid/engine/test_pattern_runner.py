"""PatternRunner against Presidio's own PatternRecognizer.analyze (the reference)."""

from __future__ import annotations

import logging

import pytest
from presidio_analyzer import Pattern, PatternRecognizer

from strongroom.deid.engine import setup
from strongroom.deid.engine.pattern_runner import PatternRunner
from tests.deid.deid_texts import comparison_texts

# Matches that are empty, validated, invalidated or duplicated, next to the comparison texts
EXTRA = [
    "4111 1111 1111 1111 and 4111 1111 1111 1112; 123-45-6789 and 000-00-0000",
    "DE89 3704 0044 0532 0130 00 / GB82 WEST 1234 5698 7654 32; https://a.example.com/x",
    "ann@example.org ann@example.org; 192.168.0.1; ::1; 00:1A:2B:3C:4D:5E",
]


def _key(results) -> list[tuple[str, int, int, float, str | None]]:  # type: ignore[no-untyped-def]
    return sorted(
        (r.entity_type, r.start, r.end, r.score, r.analysis_explanation.pattern_name)
        for r in results
    )


def _recognizers() -> list[object]:
    return setup.analyzer_engine().registry.get_recognizers(language="en", all_fields=True)


def test_same_results_as_presidio() -> None:
    entities = setup.analyzer_engine().get_supported_entities(language="en")
    texts = list(comparison_texts()) + EXTRA
    runners, found = 0, 0
    for recognizer in _recognizers():
        runner = PatternRunner.wrap(recognizer)
        if runner is recognizer:
            continue
        runners += 1
        for text in texts:
            want = _key(recognizer.analyze(text, entities))
            assert _key(runner.analyze(text, entities)) == want, (recognizer.name, text)
            found += len(want)
    assert runners >= 25 and found > 300


def test_wrap_leaves_other_recognizers_alone() -> None:
    recognizers = {r.name: r for r in _recognizers()}
    for name in ("IbanRecognizer", "SpacyRecognizer", "PhoneRecognizer"):  # own analyze
        assert PatternRunner.wrap(recognizers[name]) is recognizers[name]


def test_an_empty_match_is_skipped_and_a_deny_list_works() -> None:
    recognizer = PatternRecognizer(
        supported_entity="TITLE",
        patterns=[Pattern("maybe", r"x*", 0.5)],
        deny_list=["Dr", "Prof"],
    )
    runner = PatternRunner(recognizer)
    text = "Dr Ann and Prof Bo, xx"
    assert _key(runner.analyze(text, ["TITLE"])) == _key(recognizer.analyze(text, ["TITLE"]))
    assert len(runner.analyze(text, ["TITLE"])) == 3


def test_a_timeout_is_logged_and_skips_the_pattern(monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    import strongroom.deid.engine.pattern_runner as module

    recognizer = PatternRecognizer(
        supported_entity="SLOW",
        patterns=[Pattern("slow", r"(a|aa)+b", 0.5), Pattern("ok", r"c", 0.5)],
    )
    monkeypatch.setattr(module, "REGEX_TIMEOUT_SECONDS", 0.05)  # backtracking: 2**40 steps
    with caplog.at_level(logging.WARNING, logger="presidio-analyzer"):
        results = PatternRunner(recognizer).analyze("a" * 40 + "cb", ["SLOW"])
    assert [r.start for r in results] == [40]
    assert "timed out" in caplog.text


@pytest.mark.parametrize("text", ["", "no digits here"])
def test_texts_without_matches(text: str) -> None:
    for recognizer in _recognizers():
        runner = PatternRunner.wrap(recognizer)
        if runner is not recognizer:
            assert runner.analyze(text, []) == recognizer.analyze(text, [])
