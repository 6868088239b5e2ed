"""Census and world given names that are no English words, very common given names inside a
sentence; words, months and eponyms stay (the rest of a name is added later:
tests/deid/test_name_spans.py)."""

from __future__ import annotations

import pytest

from strongroom.deid.recognizers.name_lexicon import (
    NameLexiconRecognizer,
    census_names,
    common_given_names,
    world_given_names,
)


def _names(text: str) -> list[str]:
    return [text[r.start : r.end] for r in NameLexiconRecognizer().analyze(text, ["PERSON"])]


def test_the_census_lexicon_holds_first_names_and_common_surnames() -> None:
    names = census_names()
    assert {"christine", "juan", "smith", "nguyen", "kowalski"} <= names
    assert len(names) > 40_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Christine said she would come.", ["Christine"]),
        ("Danial S. Eklund agreed.", ["Danial", "Eklund"]),  # the initial: name_spans
        ("Spoke with Kowalski today", ["Kowalski"]),
        ("Maciej is from Gdansk; Katarina spent a year there.", ["Maciej", "Katarina"]),
        ("Borbála Šušulić called", ["Borbála"]),  # the accent-free spelling is listed
        ("said Leal to Logan", ["Logan"]),  # English word, common name, inside a sentence
        ("I would like to remove my kid Anna from the will.", ["Anna"]),
    ],
)
def test_lone_names_are_found(text: str, expected: list[str]) -> None:
    assert _names(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Patient stable. Discharged home in May.",  # English words and a month
        "Parkinson's disease, Bell palsy",  # eponyms
        "Will Brown agreed",  # names that are English words, starting a sentence: left to NER
        "Grace period ends. Crystal clear.",
        "seen by christine",  # not capitalised
    ],
)
def test_words_months_and_eponyms_are_not_names(text: str) -> None:
    assert _names(text) == []


def test_world_given_names_are_counted_and_noise_is_left_out() -> None:
    names = world_given_names()
    assert {"katarina", "maciej", "emre", "nayla"} <= names.keys()
    assert "pain" not in names  # two sources, three people: below the thresholds
    assert names["timothy"] > names["katarina"] > 0
    assert "timothy" in common_given_names() and "katarina" not in common_given_names()
