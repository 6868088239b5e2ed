"""Payment card numbers Presidio's CREDIT_CARD misses."""

from __future__ import annotations

import re

from strongroom.deid.recognizers.base import DeclaredRecognizer
from strongroom.records.formats import luhn_valid


class CardNumberRecognizer(DeclaredRecognizer):
    """Payment card numbers Presidio's CREDIT_CARD misses: Mastercard's 2-series (2221-2720)
    and 18-19 digit cards; any 13-19 digit run starting 2-6, grouped or not, with a Luhn check;
    and right after the word "card" ("card # ...", "my card number is ..."), any 12-19 digits
    (Maestro issues 12-digit cards) that pass the Luhn check."""

    ENTITY = "CREDIT_CARD"
    PATTERNS = (
        ("pan", r"(?<![0-9])[2-6][0-9]{3}(?:[ -]?[0-9]){9,15}(?![0-9])", 0.4),
        (
            "pan_after_card",
            r"(?=[0-9])(?<=\bcard(?:\s+(?:no\.?|number|num))?(?:\s+is)?\s*[:#]?\s*)"
            r"[0-9](?:[ -]?[0-9]){11,18}(?![0-9])",
            0.85,
        ),
    )
    CONTEXT = ("card", "visa", "mastercard", "amex", "debit", "credit", "pan")

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = re.sub(r"[ -]", "", pattern_text)
        return luhn_valid(digits) if 12 <= len(digits) <= 19 else False
