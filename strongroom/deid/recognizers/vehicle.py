"""Vehicle identifiers (Safe Harbor #12): VINs with their check digit, plates after their word.

A VIN is 17 characters without I, O and Q whose ninth is a check digit (ISO 3779, North American
rule: transliterated characters weighted 8 7 6 5 4 3 2 10 0 9 8 7 6 5 4 3 2, sum mod 11, 10 is
"X"); one in eleven random strings of the shape passes, so the bare shape scores 0.5 and the
check vetoes. A licence plate has no shape in common across countries: it is taken only right
after "plate", "licence plate", "registration" or "reg no".
"""

from __future__ import annotations

from strongroom.deid.recognizers.base import CASED_FLAGS, DeclaredRecognizer

_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True))}
_VALUES |= dict(zip("JKLMN", range(1, 6), strict=True)) | {"P": 7, "R": 9}
_VALUES |= dict(zip("STUVWXYZ", range(2, 10), strict=True))
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_valid(vin: str) -> bool:
    """The check digit of a 17-character VIN (ninth character) agrees with the others."""
    if len(vin) != 17 or any(c not in _VALUES for c in vin):
        return False
    total = sum(_VALUES[c] * w for c, w in zip(vin, _WEIGHTS, strict=True)) % 11
    return vin[8] == ("X" if total == 10 else str(total))


_PLATE_KEY = (
    r"\b(?i:(?:licen[cs]e\s+)?plate(?:\s+(?:no\.?|number|num))?|registration(?:\s+(?:no\.?|number))?"
    r"|reg\.?\s+(?:no\.?|number)|tag\s+(?:no\.?|number))\s*(?:is\s+)?[:#]?\s*"
)


class VehicleIdentifierRecognizer(DeclaredRecognizer):
    ENTITY = "VEHICLE_IDENTIFIER"
    FLAGS = CASED_FLAGS
    PATTERNS = (
        (
            "vin",
            r"(?<![A-Za-z0-9])(?=[A-HJ-NPR-Z0-9]*[0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])",
            0.5,
        ),
        (
            "plate_after_word",
            rf"(?=[A-Z0-9])(?<={_PLATE_KEY})(?=[A-Z0-9 -]*[0-9])[A-Z0-9](?:[ -]?[A-Z0-9]){{1,10}}\b",
            0.85,
        ),
    )
    CONTEXT = ()

    def validate_result(self, pattern_text: str) -> bool | None:
        if len(pattern_text) == 17 and pattern_text.isalnum():
            return None if vin_valid(pattern_text) else False  # keep the shape's own score
        return None
