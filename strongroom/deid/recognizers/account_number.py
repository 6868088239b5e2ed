"""Bank account numbers, last-four mentions and masked numbers."""

from __future__ import annotations

from strongroom.deid.recognizers.base import NUM_SUFFIX, DeclaredRecognizer


class AccountNumberRecognizer(DeclaredRecognizer):
    ENTITY = "ACCOUNT_NUMBER"
    _ACCT = r"\b(?:account|acct|acc|a/c)\.?"
    PATTERNS = (
        ("account_keyword", rf"(?=[0-9])(?<={_ACCT}{NUM_SUFFIX})[0-9]{{8,17}}\b", 0.85),
        # "account ending in 1234", "card ending 1234": a last-four mention.
        (
            "account_ending",
            rf"(?=[0-9])(?<=(?:{_ACCT}|\bcard)(?:\s+(?:number|no\.?))?\s*,?\s*"
            r"(?:ending|ends)(?:\s+(?:in|with))?\s*[:#]?\s*)[0-9]{4}\b",
            0.85,
        ),
        # Masked: "acct ***1234", "account no. XXXX-1234".
        (
            "account_masked",
            rf"(?=[*xX•])(?<={_ACCT}{NUM_SUFFIX})[*xX•]{{2,13}}[ -]?[0-9]{{4}}\b",
            0.85,
        ),
        # Any 8-17 digit run: an account only near a context word (0.2 + 0.35 = 0.55).
        ("account_bare", r"(?<!\w)[0-9]{8,17}(?!\w)", 0.2),
    )
    # "a/c" is split by spaCy into a, /, c and can never match as context: it is in the pattern.
    CONTEXT = ("account", "acct", "ref", "checking", "savings", "deposit", "wire")
