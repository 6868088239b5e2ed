"""Census names that are no English words; words, months and eponyms stay (the rest of a name
is added later: tests/deid/test_name_spans.py)."""

from __future__ import annotations

import pytest

from strongroom.deid.recognizers.name_lexicon import NameLexiconRecognizer, census_names


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
    ],
)
def test_lone_names_are_found(text: str, expected: list[str]) -> None:
    assert _names(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Patient stable. Discharged home in May.",  # English words and a month
        "Parkinson's disease, Bell palsy",  # eponyms
        "Will Brown and Rose Young",  # names that are English words: left to NER
        "seen by christine",  # not capitalised
    ],
)
def test_words_months_and_eponyms_are_not_names(text: str) -> None:
    assert _names(text) == []
