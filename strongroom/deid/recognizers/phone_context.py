"""Phone numbers in any national format, next to a word that says they are phone numbers.

Presidio's PhoneRecognizer keeps what libphonenumber holds valid for eight regions, and
strongroom's phone shapes know US and UK layouts; "727 174 467", "79 749 74 51", "(96) 627-277"
or a 7-digit local "436 2014" are neither. Next to a phone word (before it: "Phone:", "mobile",
"call", "call me on", "dial", "not answering at", "messages to", "my registered"; after it:
"-Office", " fax") any run of 6 to 15 digits in up to six groups is taken.
"""

from __future__ import annotations

import re

from strongroom.deid.recognizers.base import DeclaredRecognizer

_WORDS = r"phone|telephone|tel|mobile|cell|cellphone|fax|desk|whatsapp|sms|text\s+me"
_BEFORE = (
    rf"\b(?:{_WORDS}|call(?:\s+(?:me|us|him|her|them))?(?:\s+(?:at|on))?|dial(?:ing)?"
    r"|reach(?:ed)?(?:\s+(?:me|us|him|her|them))?\s+(?:at|on)|answering\s+at|messages\s+to|registered"
    r"|contact\s+(?:me\s+)?(?:at|on)|ring\s+me\s+on)(?:\s+(?:no\.?|number|num|\#))?"
    r"\s*(?:is\s+)?[:#.=-]?\s*"
)
_SHAPE = r"\+?\(?[0-9]{1,4}\)?(?:[ .\-/]{0,2}\(?[0-9]{1,5}\)?){1,5}"
_AFTER = r"(?=\s*[-,(]?\s*(?:office|fax|mobile|cell|home|desk)\b)"


class ContextPhoneRecognizer(DeclaredRecognizer):
    ENTITY = "PHONE_NUMBER"
    PATTERNS = (
        ("phone_after_word", rf"(?=[+(0-9])(?<={_BEFORE}){_SHAPE}(?![0-9])", 0.6),
        ("phone_before_word", rf"(?=[+(0-9])(?<![\w+]){_SHAPE}(?![0-9]){_AFTER}", 0.6),
    )
    CONTEXT = ()

    def validate_result(self, pattern_text: str) -> bool | None:
        # None keeps the pattern's score; a run of too few or too many digits is no phone
        return None if 6 <= len(re.sub(r"[^0-9]", "", pattern_text)) <= 15 else False
