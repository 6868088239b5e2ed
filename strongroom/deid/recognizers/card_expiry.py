"""Payment card expiry dates after an 'exp' / 'valid thru' word."""

from __future__ import annotations

from strongroom.deid.recognizers.base import DeclaredRecognizer


class CardExpiryRecognizer(DeclaredRecognizer):
    ENTITY = "CARD_EXPIRY"
    _KEY = (
        r"\b(?:exp(?:iry|iration|ires|ired|\.)?(?:\s+date)?|valid\s+(?:thru|through|until|till)"
        r"|good\s+thru)\s*[:-]?\s*(?:on\s+)?"
    )
    PATTERNS = (
        (
            "expiry",
            rf"(?=[0-9])(?<={_KEY})(?:0?[1-9]|1[0-2])\s*[/-]\s*(?:20[0-9]{{2}}|[0-9]{{2}})(?![0-9/-])",
            0.9,
        ),
    )
    CONTEXT = ("exp", "expiry", "expire", "valid", "card")
