"""Misspelt record values: found when close to a name word or a long number, not otherwise."""

from __future__ import annotations

import pandas as pd
import pytest

from strongroom.deid.near_miss import edit_distance, scrub_near_misses
from strongroom.deid.record_values import english_words

KNOWN = {
    "John Smith": "<PERSON>",
    "Carl": "<PERSON>",
    "O'Neil": "<PERSON>",
    "John": "<PERSON>",
    "Smith": "<PERSON>",
    "Hill": "<PERSON>",
    "Christopher": "<PERSON>",
    "Li": "<PERSON>",
    "12345678": "<MEDICAL_RECORD_NUMBER>",
    "(555) 123-4567": "<PHONE_NUMBER>",
}


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("john", "jonh", 1), ("smith", "smiht", 1), ("smith", "smyth", 1), ("smith", "smit", 1),
     ("smith", "smiths", 1), ("christopher", "chirstophre", 2), ("abc", "xyz", 2)],
)  # fmt: skip
def test_edit_distance_counts_a_swap_as_one_edit(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b, limit=1) == min(distance, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jonh Smiht seen today", "<PERSON> <PERSON> seen today"),  # swaps
        ("Mr Smyth and Mr Smitth", "Mr <PERSON> and Mr <PERSON>"),  # substitution, insertion
        ("JHON SMTH", "<PERSON> <PERSON>"),  # upper case, deletion
        ("Chirstophre came", "<PERSON> came"),  # two edits in a long name
        ("MRN 12345679 or 1234-5679", "MRN <MEDICAL_RECORD_NUMBER> or <MEDICAL_RECORD_NUMBER>"),
        ("call 555 123 4568", "call <PHONE_NUMBER>"),
        ("Spoke to Mr Card today", "Spoke to Mr <PERSON> today"),  # mid-sentence: a name
        ("MRN12345687 or call 555 123 456", "MRN<MEDICAL_RECORD_NUMBER> or call <PHONE_NUMBER>"),
        ("Ms O’Niel", "Ms <PERSON>"),  # a typographic apostrophe, two letters swapped
        ("Ok. Card on file", "Ok. Card on file"),
    ],
)
def test_misspellings_are_replaced(text: str, expected: str) -> None:
    scrubbed, hits = scrub_near_misses(text, KNOWN, english_words())
    assert scrubbed == expected
    assert hits == expected.count("<")


@pytest.mark.parametrize(
    "text",
    [
        "we will call; Will it?",  # a stop word, whatever its case
        "Card ending 5411; Jon",  # an English word near "Carl"; "Jon" is under four letters
        "the smit family, a hill",  # lower case: ordinary words
        "Hill and John Smith",  # exact values are the exact pass's job
        "Lu and Le",  # names under four letters have too many neighbours
        "Chrystofur",  # four edits
        "MRN 12345699, 1234567x, 1234567899",  # two digits off, too short, two digits more
        "<PERSON> was seen",  # placeholders are left alone
    ],
)
def test_near_misses_that_are_not_misspellings_stay(text: str) -> None:
    assert scrub_near_misses(text, KNOWN, english_words()) == (text, 0)


def test_deidentify_replaces_a_misspelt_patient_name(tmp_path, demo_frame, contract) -> None:  # type: ignore[no-untyped-def]
    from strongroom.deid.deidentify import REPORT_JSON, deidentify
    from strongroom.records.io import read_json, write_strings

    rows = demo_frame.head(3).copy()
    first, last = rows.iloc[0]["name"].split()[:2]
    typo = last[0] + last[2] + last[1] + last[3:]  # "Smith" -> "Smtih"
    rows.loc[rows.index[0], "note"] = f"Spoke with {first} {typo} today; {typo} is better."
    write_strings(rows, tmp_path / "validated.parquet")
    deidentify(tmp_path / "validated.parquet", contract, tmp_path / "out", key=b"k" * 32)
    out = pd.read_parquet(tmp_path / "out" / "deidentified.parquet")
    assert typo not in out["note"].iloc[0]
    assert read_json(tmp_path / "out" / REPORT_JSON)["misspelt_values_scrubbed_from_text"] >= 2


def test_exact_pass_takes_typographic_apostrophes_and_name_parts(contract) -> None:  # type: ignore[no-untyped-def]
    from strongroom.deid.deidentify import _known_values, scrub_record_values

    row = pd.Series({name: None for name in contract.columns})
    row["name"] = "Mary-Jane O'Connor"
    known = _known_values(row, contract)
    assert {"Mary", "Jane", "O'Connor"} <= set(known)
    text, exact, misspelt = scrub_record_values("Mary and Jnae O’Connor", known)
    assert text == "<PERSON> and <PERSON> <PERSON>"
    assert (exact, misspelt) == (2, 1)
