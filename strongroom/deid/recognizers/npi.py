"""US National Provider Identifiers (10 digits, Luhn with the 80840 prefix)."""

from __future__ import annotations

from strongroom.deid.recognizers.base import NUM_SUFFIX, DeclaredRecognizer
from strongroom.records.formats import npi_valid


class NpiRecognizer(DeclaredRecognizer):
    ENTITY = "NPI"
    PATTERNS = (
        ("npi_keyword", r"(?=[0-9])(?<=\bNPI" + NUM_SUFFIX + r")[0-9]{10}\b", 0.9),
        ("npi_bare", r"(?<!\w)[0-9]{10}(?!\w)", 0.2),
    )
    CONTEXT = ("npi", "provider", "prescriber")

    def validate_result(self, pattern_text: str) -> bool | None:
        # Presidio sets a passing result to score 1.0 whatever the pattern said, and one random
        # 10-digit number in ten (a phone number, say) passes the check. So the checksum only
        # vetoes (False drops the match); a pass keeps the pattern's own, context-driven score.
        return None if npi_valid(pattern_text) else False
