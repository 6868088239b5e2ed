"""Pattern gates: a gate must find something in every text where its pattern matches."""

from __future__ import annotations

import random
import re

import pytest
import regex
from presidio_analyzer import PatternRecognizer

from strongroom.deid.engine import setup
from strongroom.deid.engine.pattern_gates import gate
from tests.deid.deid_texts import comparison_texts

_ALPHABET = "0123456789 aAbBcCeEmMnNoOrRtTvVxX.-/:@#()+'\"\n,;*"
_WORDS = ["MRN", "acct", "CVV", "exp", "NPI", "zip", "age", "y/o", "www.", ".com", "http://", "IL "]


def _pattern_recognizers() -> list[PatternRecognizer]:
    recognizers = setup.analyzer_engine().registry.get_recognizers(language="en", all_fields=True)
    return [r for r in recognizers if isinstance(r, PatternRecognizer)]


def _random_texts(n: int) -> list[str]:
    rng = random.Random(7)
    texts = []
    for _ in range(n):
        parts = [rng.choice(_WORDS) if rng.random() < 0.2 else rng.choice(_ALPHABET)]
        parts += [
            rng.choice(_WORDS) if rng.random() < 0.1 else rng.choice(_ALPHABET) for _ in range(40)
        ]
        texts.append("".join(parts))
    return texts


def test_every_gate_is_sound_on_the_pipelines_patterns() -> None:
    texts = list(comparison_texts()) + _random_texts(1500)
    gated = 0
    for recognizer in _pattern_recognizers():
        for pattern in recognizer.patterns:
            g = gate(pattern.regex, recognizer.global_regex_flags)
            if g is None:
                continue
            gated += 1
            compiled = regex.compile(pattern.regex, recognizer.global_regex_flags)
            for text in texts:
                if compiled.search(text):
                    assert g.search(text), (recognizer.name, pattern.name, text)
    assert gated >= 15  # URLs, e-mails, keyword patterns ...


def test_gate_of_a_url_pattern_is_a_dot_and_a_domain() -> None:
    url = next(r for r in _pattern_recognizers() if r.name == "UrlRecognizer")
    g = gate(
        next(p.regex for p in url.patterns if p.name == "Non schema URL"), url.global_regex_flags
    )
    assert g is not None
    assert g.search("see example.COM today") and g.search("www.nhs.uk")
    assert not g.search("BP 120/80. Seen 2023-04-05, dose 2.5 mg. Dr. Smith")


@pytest.mark.parametrize(
    ("pattern", "flags", "hits", "misses"),
    [
        (r"\w+@\w+", 0, ["ann@example"], ["ann at example"]),
        (r"(?i)mrn\s*[0-9]+", 0, ["MRN 123", "mrn1"], ["M R N 1"]),
        (r"(?-i:XQ)[0-9]", re.I, ["XQ1"], ["xq1"]),
        (r"(?<=acct\s)[0-9]{4}", re.I, ["ACCT 1234"], ["1234 act"]),
        (r"(?:cvv|cvc)\s*[0-9]{3}", re.I, ["CVC 123", "cvv"], ["cv 123"]),
        (r"[0-9]+(?:@[0-9]+|~[0-9]+)", 0, ["1@2", "3~4"], ["1-2", "@ ~"]),  # any branch's run
    ],
)
def test_gates_of_small_patterns(
    pattern: str, flags: int, hits: list[str], misses: list[str]
) -> None:
    g = gate(pattern, flags)
    assert g is not None
    assert all(g.search(t) for t in hits)
    assert not any(g.search(t) for t in misses)


@pytest.mark.parametrize(
    ("pattern", "flags"),
    [
        (r"[[:alpha:]]+@x", 0),  # POSIX class: regex-module syntax
        (r"\p{L}+@x", 0),  # Unicode property
        (r"\m@x", 0),  # regex-module word start
        (r"a@b", regex.VERSION1),  # another mode of the regex module
        (r"[0-9]+", 0),  # nothing selective to look for
        (r"(?:a|b@)c", 0),  # a branch without a common run is no requirement
    ],
)
def test_no_gate(pattern: str, flags: int) -> None:
    assert gate(pattern, flags) is None
