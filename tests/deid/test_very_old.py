"""Safe Harbor for a patient aged 93: no year that gives the age away, in columns or in text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from strongroom.deid.deidentify import REPORT_JSON, deidentify
from strongroom.deid.very_old import (
    AGGREGATED,
    birth_years_left,
    very_old_rows,
)
from strongroom.records.io import read_json, write_strings

TODAY = date(2026, 6, 1)


def _records(demo_frame: pd.DataFrame, tmp_path: Path) -> Path:
    rows = demo_frame.head(3).copy()
    first = rows.index[0]
    rows.loc[first, ["date_of_birth", "admit_date", "discharge_date", "age"]] = [
        "1932-03-04",
        "2025-05-06",
        "2025-05-09",
        "93",
    ]
    rows.loc[first, "note"] = (
        "Born in 1932, a 93-year-old seen 2025-05-06 (DOB 1932-03-04). Husband born 1930."
    )
    young = rows.index[1]  # 40 today: every year stays
    rows.loc[young, ["date_of_birth", "admit_date", "discharge_date", "age"]] = [
        "1986-01-02",
        "2024-02-03",
        "2024-02-04",
        "38",
    ]
    write_strings(rows, tmp_path / "validated.parquet")
    return tmp_path / "validated.parquet"


def test_a_patient_aged_93_keeps_no_year_that_reveals_the_age(
    demo_frame: pd.DataFrame,
    contract,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    records = _records(demo_frame, tmp_path)
    deidentify(records, contract, tmp_path / "out", key=b"k" * 32, today=TODAY)
    out = pd.read_parquet(tmp_path / "out" / "deidentified.parquet")
    old, young = out.iloc[0], out.iloc[1]
    assert (old["date_of_birth"], old["admit_date"], old["discharge_date"]) == (AGGREGATED,) * 3
    assert old["age"] == "90+"
    assert "1932" not in old["note"] and "93-year" not in old["note"]
    assert (young["date_of_birth"], young["admit_date"], young["age"]) == ("1986", "2024", "38")
    assert read_json(tmp_path / "out" / REPORT_JSON)["residual_identifiers"] == 0


def test_over_89_today_by_birth_date_counts_even_when_the_record_says_younger(
    demo_frame: pd.DataFrame,
    contract,  # type: ignore[no-untyped-def]
) -> None:
    rows = demo_frame.head(2).copy()
    rows["date_of_birth"] = ["1935-07-01", "1937-07-01"]  # 90 and 88 on TODAY
    rows["age"] = ["85", "83"]  # as recorded in 2020
    assert very_old_rows(rows, contract, today=TODAY).tolist() == [True, False]


def test_a_birth_year_left_in_a_column_is_a_residual(contract) -> None:  # type: ignore[no-untyped-def]
    written = pd.Series({"date_of_birth": "1932", "admit_date": AGGREGATED, "note": "1932"})
    assert birth_years_left(written, ["1932"], contract) == 1  # the note is free text: not here
    assert birth_years_left(written, ["1931"], contract) == 0


def test_a_pseudonym_whose_hex_digits_spell_the_year_is_not_a_residual(contract) -> None:  # type: ignore[no-untyped-def]
    """A keyed HMAC depends on the key, not on the birth year: digits in it are chance."""
    written = pd.Series({"patient_id": "3fa1932bc0d4e5f6a7b8c9d0", "encounter_id": "e1932a"})
    assert birth_years_left(written, ["1932"], contract) == 0
    written["date_of_birth"] = "1932"  # a structured column left as it was still counts
    assert birth_years_left(written, ["1932"], contract) == 1
