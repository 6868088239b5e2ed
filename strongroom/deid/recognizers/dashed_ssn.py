"""US social security numbers written with dashes."""

from __future__ import annotations

from strongroom.deid.recognizers.base import DeclaredRecognizer


class DashedSsnRecognizer(DeclaredRecognizer):
    """SSNs with dashes at 0.85: Presidio's own scores them too low to catch in notes and memos."""

    ENTITY = "US_SSN"
    PATTERNS = (("us_ssn_0", r"\b\d{3}-\d{2}-\d{4}\b", 0.85),)
    CONTEXT = ()
