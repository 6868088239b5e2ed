"""Ages of 90 to 125 written as ages (Safe Harbor's '90 or older')."""

from __future__ import annotations

from strongroom.deid.recognizers.base import DeclaredRecognizer

# 90-125 as a whole number: not 89, 1092, 90.5, 1,095 or the 90 of "90/60".
_AGE = r"(?<![0-9/]|[0-9][.,])(?:12[0-5]|1[01][0-9]|9[0-9])(?![0-9/]|[.,][0-9])"
_DURATION = r"(?:days?|d\b|weeks?|wks?|months?|mos?|hours?|hrs?|minutes?|mins?)"


class AgeOver89Recognizer(DeclaredRecognizer):
    ENTITY = "AGE_OVER_89"
    # Only the number is matched ("a <AGE_OVER_89>-year-old man"); the unit or keyword is what
    # makes it an age, so "BP 90/60", "90 mg" and "room 95" have none to match.
    PATTERNS = (
        ("age_year_old", rf"{_AGE}(?=\s*-?\s*(?:years?|yrs?|y)\s*-?\s*old\b)", 0.9),
        ("age_yo", rf"{_AGE}(?=\s*-?\s*(?:y/o|y\.o\.?|yo)\b)", 0.9),
        ("age_years_of_age", rf"{_AGE}(?=\s*(?:years?|yrs?)\s+of\s+age\b)", 0.9),
        # "age 90 days" is a duration (post-op day, infant age), not a person's age.
        (
            "age_keyword",
            rf"(?=[0-9])(?<=\bage[ds]?\s*(?:[:=]|of)?\s*){_AGE}(?!\s*{_DURATION})",
            0.9,
        ),
    )
    CONTEXT = ("age", "old", "year")
