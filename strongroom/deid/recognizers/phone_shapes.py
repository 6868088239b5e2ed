"""US and UK phone shapes, assigned or not."""

from __future__ import annotations

from strongroom.deid.recognizers.base import DeclaredRecognizer


class PhoneNumberRecognizer(DeclaredRecognizer):
    """US and UK phone shapes, whether or not libphonenumber knows the number is assigned
    (Presidio's PhoneRecognizer keeps only valid numbers; a made-up or mistyped one is still a
    phone number to redact): extensions, (555)123-4567, +1 / 001 prefixes, +44 (0) 7700 900123."""

    ENTITY = "PHONE_NUMBER"
    _EXT = r"(?:\s*(?:x|ext\.?|extension)\s*[0-9]{1,6})?"
    PATTERNS = (
        (
            "us",
            r"(?=[+(0-9])(?<![\w+])(?:\+?1[ .-]?|001[ .-]?)?\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}"
            + _EXT
            + r"(?![0-9])",
            0.6,
        ),
        (
            "uk",
            r"(?=[+0])(?<![\w+])(?:\+44\s?(?:\(0\)\s?)?|0)[1-9](?:[ -]?[0-9]){8,9}(?![0-9])",
            0.6,
        ),
    )
    CONTEXT = (
        "phone",
        "call",
        "tel",
        "mobile",
        "cell",
        "contact",
        "reach",
    )  # lemmas: "reached" is "reach"
