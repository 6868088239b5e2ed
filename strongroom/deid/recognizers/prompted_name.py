"""Person names after a prompt or in a signature, where NER often misses a lone name.

"What's your last name? Holt", "Name: Bartłomiej Sokołowski", "Regards, Ann", "Directed by Frej
Lind", "Dear Mr Okafor": one to four capitalised words (initials allowed) right after a word that
asks for or introduces a name. And a message's first or last line when it is nothing but two to
four capitalised words, as signature blocks start and end ("Angel N Martin"); and a nickname in
quotes between two capitalised words (Robert "Bobby" Smith).
"""

from __future__ import annotations

from strongroom.deid.recognizers.base import CASED_FLAGS, UPPER_LETTER, DeclaredRecognizer

_LETTER = UPPER_LETTER

_NAME_WORD = rf"{_LETTER}[\w'’-]*[\w]"
_INITIAL = rf"{_LETTER}\.?"
_PROMPT = (
    r"\b(?i:(?:(?:first|last|full|given|family|maiden|middle|sur|user)\s*name|name|surname"
    r"|signed|regards|sincerely|thanks|cheers|dear|hi|hello|attn|directed\s+by|starring"
    r"|written\s+by|contact\s+person|signature)(?:\s+is)?)\s*[:?,!-]?\s*"
)
_NAME = rf"{_NAME_WORD}(?:[ \t]+(?:{_NAME_WORD}|{_INITIAL})){{0,3}}"
_LINE_NAME = rf"{_NAME_WORD}(?:[ \t]+(?:{_NAME_WORD}|{_INITIAL})){{1,3}}"


class PromptedNameRecognizer(DeclaredRecognizer):
    ENTITY = "PERSON"
    FLAGS = CASED_FLAGS
    PATTERNS = (
        ("name_after_prompt", rf"(?=[A-ZÀ-ÞĀ-ſ])(?<={_PROMPT}){_NAME}", 0.6),
        ("first_line", rf"(?=[A-ZÀ-ÖØ-ÞĀ-ſ])(?<=\A[\s}}]*){_LINE_NAME}(?=[ \t]*\r?\n)", 0.4),
        # a nickname in quotes between two capitalised words: Robert "Bobby" Smith
        (
            "quoted_nickname",
            rf"(?<=\b{_NAME_WORD}[ \t]+)[\"“‘'](?={_LETTER}){_NAME_WORD}[\"”’'](?=[ \t]+{_LETTER})",
            0.6,
        ),
        ("last_line", rf"(?=[A-ZÀ-ÖØ-ÞĀ-ſ])(?<=\n[ \t}}]*){_LINE_NAME}(?=[ \t]*\Z)", 0.4),
    )
    CONTEXT = ()
