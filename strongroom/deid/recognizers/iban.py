"""IBANs, compact or grouped by four, mod-97 checked."""

from __future__ import annotations

from strongroom.deid.recognizers.base import CASED_FLAGS, DeclaredRecognizer
from strongroom.records.formats import iban_valid


class IbanGroupedRecognizer(DeclaredRecognizer):
    """IBANs, compact or grouped by four. Case-sensitive on purpose: Presidio's own IBAN pattern
    runs case-insensitively into the next word ("... 8193 today"), fails the checksum and is
    dropped, which loses every IBAN whose length is a multiple of four (ES, AT, PL, SE, ...)."""

    ENTITY = "IBAN_CODE"
    FLAGS = CASED_FLAGS
    PATTERNS = (
        ("iban_compact", r"\b[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}\b", 0.5),
        ("iban_grouped", r"\b[A-Z]{2}[0-9]{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?\b", 0.5),
    )
    CONTEXT = ("iban", "account", "transfer", "bank")

    def validate_result(self, pattern_text: str) -> bool | None:
        return iban_valid(pattern_text.replace(" ", ""))
