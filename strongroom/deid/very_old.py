"""HIPAA Safe Harbor for people over 89: every date element that reveals the age, aggregated.

Safe Harbor lets ages over 89 stand only as one category, "90 or older", together with "all
elements of dates (including year) indicative of such age" (45 CFR 164.514(b)(2)(i)(C)). The
`age_90` treatment handles the age column; this module handles the years. A person counts as very
old when the contract's birth-date column (an `age_checks` entry names it) says they are 90 or
older today, or a row's age column says over 89. Today, not at the record's date: a birth year
tells a reader the person's age now, and the rule then depends on the birth date alone, so every
row of one person is treated alike in whichever shard it lands.

For those rows every `year` column (birth year, admission year ...) becomes ``AGGREGATED``: with
the age as an exact number under 90 an admission year still gives the birth year back. Their text
is scrubbed of the birth year (as a known value of the row), and the residual check counts a birth
year left in any written column (``birth_years``). ``tests/deid/test_very_old.py`` follows a
patient aged 93.
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from strongroom.records.contract import Contract, Treatment

AGGREGATED = "90+"  # the one category Safe Harbor allows
OLDEST_SHOWN = 89  # an age above this is "90 or older"


def birth_columns(contract: Contract) -> list[str]:
    """The birth-date columns the contract's age checks name."""
    return sorted({check.birth_date for check in contract.age_checks})


def _age_on(birth: str | None, today: date) -> int | None:
    try:
        born = date.fromisoformat((birth or "")[:10])
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def very_old_rows(frame: pd.DataFrame, contract: Contract, *, today: date) -> pd.Series:
    """Rows of people who are over 89 today (by birth date) or were at the row (by age)."""
    old = pd.Series(False, index=frame.index)
    for column in birth_columns(contract):
        ages = [_age_on(v, today) for v in frame[column]]
        old |= pd.Series([a is not None and a > OLDEST_SHOWN for a in ages], index=frame.index)
    for name, spec in contract.columns.items():
        if spec.treatment == Treatment.AGE_90:
            ages = pd.to_numeric(frame[name], errors="coerce")
            old |= (ages > OLDEST_SHOWN).fillna(False)
    return old


def aggregate_years(out: pd.DataFrame, old: pd.Series, contract: Contract) -> int:
    """Every `year` column of the very old rows set to ``AGGREGATED``, in place; cells changed."""
    years = [n for n, s in contract.columns.items() if s.treatment == Treatment.YEAR]
    changed = int(out.loc[old, years].notna().sum().sum()) if years else 0
    for column in years:
        out.loc[old & out[column].notna(), column] = AGGREGATED
    return changed


def birth_years(row: pd.Series, contract: Contract) -> list[str]:
    """The birth years of one row (four digits), for its text scrub and its residual check."""
    return [
        str(row[c])[:4]
        for c in birth_columns(contract)
        if isinstance(row[c], str) and row[c][:4].isdigit()
    ]


def birth_years_left(written: pd.Series, years: list[str], contract: Contract) -> int:
    """Structured cells of one written row that still hold one of `years` as a whole word (the
    residual check; free text is searched with the row's other known values). Pseudonymised
    cells are skipped: a keyed HMAC's hex digits carry nothing of the row, and "1931" between
    two letters of one ("…a1931f…") is chance, not a birth year: with the demo's ~500 rows of
    patients over 89 it happens in a few runs in a hundred, and failed the gate of one."""
    skipped = set(contract.free_text_columns()) | {
        name for name, spec in contract.columns.items() if spec.treatment == Treatment.PSEUDONYMIZE
    }
    found = 0
    for column, value in written.items():
        if column in skipped or not isinstance(value, str):
            continue
        found += sum(re.search(rf"(?<![0-9]){y}(?![0-9])", value) is not None for y in years)
    return found
