"""The base of strongroom's pattern recognizers: declared by class attributes, Presidio's flags."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern, PatternRecognizer

# Presidio's default flags. Recognizers that need case (capitalised street names, state codes)
# drop IGNORECASE and opt back in per group with (?i:...).
PRESIDIO_FLAGS = re.DOTALL | re.MULTILINE | re.IGNORECASE
CASED_FLAGS = re.DOTALL | re.MULTILINE
UPPER_LETTER = r"[A-ZÀ-ÖØ-ÞĀ-ſ]"  # an upper-case letter, Latin with diacritics (for names)

NUM_SUFFIX = r"(?:\s*(?:number|num|no\.?|\#))?\s*(?:[:#=-]|is)?\s*"  # "number: ", "no. ", "# "
# Bare digit patterns are bounded by (?<!\w)/(?!\w), not [0-9], so the digit tail of an IBAN or
# of a code such as "XK123456789" is not taken for an account or record number.


class DeclaredRecognizer(PatternRecognizer):
    """A pattern recognizer declared by class attributes; builds fresh ``Pattern``s per instance.

    Presidio caches the compiled regex on each ``Pattern``, so instances must not share them.
    """

    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[tuple[tuple[str, str, float], ...]]  # (name, regex, base score)
    # Single lowercase words: the enhancer compares them with one lemma at a time, as substrings.
    CONTEXT: ClassVar[tuple[str, ...]]
    FLAGS: ClassVar[int] = PRESIDIO_FLAGS

    def __init__(self) -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=f"sr_{self.ENTITY.lower()}",
            supported_language="en",
            patterns=[Pattern(name, rx, score) for name, rx, score in self.PATTERNS],
            context=list(self.CONTEXT),
            global_regex_flags=self.FLAGS,
        )
