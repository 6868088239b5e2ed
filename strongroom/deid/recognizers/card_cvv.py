"""Payment card security codes after their keyword."""

from __future__ import annotations

from strongroom.deid.recognizers.base import DeclaredRecognizer


class CardCvvRecognizer(DeclaredRecognizer):
    ENTITY = "CARD_CVV"
    _KEY = (
        r"\b(?:CVV2?|CVC2?|CVN|CSC|CID|security\s+code"
        r"|card\s+verification(?:\s+(?:value|code|number))?)"
        r"(?:\s*(?:code|number|no\.?))?\s*(?:[:#=-]|is)?\s*"
    )
    PATTERNS = (("cvv", rf"(?=[0-9])(?<={_KEY})[0-9]{{3,4}}(?![0-9])", 0.9),)
    CONTEXT = ("cvv", "cvc", "security", "verification", "card")
