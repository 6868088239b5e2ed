"""``might_occur`` never rules out a value its pattern would find (it only saves the compile)."""

from __future__ import annotations

import random

from strongroom.deid.record_values import (
    known_value_pattern,
    might_occur,
    scrub_known_values,
    value_spans,
)

_VALUES = [
    "Ann Lee", "O'Neil", "Mary-Jane", "4111 1111 1111 1111", "(555) 123-4567", "GB82WEST12345698765432",
    "123-45-6789", "ann.lee@example.org", "Zoë", "Straße", "MRN0048213",
]  # fmt: skip
_SPELLINGS = [
    lambda v: v, str.upper, str.lower, str.title,
    lambda v: v.replace("'", "’").replace("-", "–"),
    lambda v: v.replace("'", "`"),
    lambda v: "".join(c + random.choice(["", " ", "-", ".", "/", "("]) for c in v),
]  # fmt: skip
_CONTEXTS = ["{} was seen", "Pt: {}.", "call {} today", "x{}x", "İstanbul, {}", "re: {}\n", "{}"]


def test_a_value_its_pattern_finds_is_never_ruled_out() -> None:
    random.seed(7)
    found = 0
    for _ in range(4000):
        value = random.choice(_VALUES)
        text = random.choice(_CONTEXTS).format(random.choice(_SPELLINGS)(value))
        if known_value_pattern(value).search(text):
            found += 1
            assert might_occur(value, text), (value, text)
    assert found > 1000  # the spellings do produce matches


def test_values_absent_from_ascii_text_are_ruled_out() -> None:
    assert not might_occur("Ann Lee", "seen by the nurse on Tuesday")
    assert not might_occur("4111 1111 1111 1111", "dose 4111 mg, 1111 ml")
    assert might_occur("Zoë", "seen on Tuesday")  # non-ASCII: always looked for


def test_scrubbing_finds_the_same_with_the_check() -> None:
    text = "Ann LEE (o’neil) paid with 4111-1111-1111-1111; ann lee again"
    known = {"Ann Lee": "<NAME>", "O'Neil": "<NAME>", "4111 1111 1111 1111": "<CARD>"}
    assert scrub_known_values(text, known) == (
        "<NAME> (<NAME>) paid with <CARD>; <NAME> again",
        4,
    )


def test_the_found_spans_are_the_patterns_matches() -> None:
    """The str.find path for ASCII words gives what the pattern gives, case, apostrophes,
    boundaries and repeats included; other values take the pattern's own path."""
    random.seed(11)
    contexts = [*_CONTEXTS, "{}{}", "{} {}", "_{}", "{}_x", "{}'s", "{}-{}"]
    compared = 0
    for _ in range(4000):
        value = random.choice(_VALUES)
        context = random.choice(contexts)
        text = context.format(
            *[random.choice(_SPELLINGS)(value) for _ in range(context.count("{}"))]
        )
        expected = [m.span() for m in known_value_pattern(value).finditer(text)]
        assert value_spans(value, text) == expected, (value, text)
        compared += bool(expected)
    assert compared > 1000


def test_a_candidate_refused_at_a_boundary_does_not_hide_an_overlapping_match() -> None:
    for value, text in [("Ann-Ann", "xAnn-Ann-Ann"), ("Lee Lee", "Lee Lee Lee"), ("aa", "aaa aa")]:
        expected = [m.span() for m in known_value_pattern(value).finditer(text)]
        assert value_spans(value, text) == expected, (value, text)
