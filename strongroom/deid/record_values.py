"""A row's own identifier values found in its free text: exact (however spaced or punctuated).

Presidio misses identifiers it has no pattern for; the row itself tells us what to look for.
Misspelt occurrences are ``near_miss``'s; ``english_words`` keeps ordinary words from being taken
for misspelt names.
"""

from __future__ import annotations

import functools
import re

from strongroom.deid.spacy_model import english_words  # re-exported: near misses use it

__all__ = ["english_words", "known_value_pattern", "might_occur", "scrub_known_values"]

_SEPARATORS = r"[\s().\-/]*"  # how people write numbers: 4111 1111 ..., (555) 123-4567
_SEPARATOR = re.compile(r"[\s().\-/]")
_APOSTROPHES = "['’‘`´]"
_DASHES = "[-‐‑‒–]"
_MIN_DIGITS = 6  # shorter digit runs (days, doses) would redact ordinary numbers


@functools.lru_cache(maxsize=1 << 16)
def known_value_pattern(value: str) -> re.Pattern[str]:
    """A whole-word, case-insensitive pattern for one known identifier value.

    Cached: a row's values are looked for in each of its columns and again by the residual
    check, and re's own cache (512 patterns) overflows on a few hundred rows. deidentify()
    clears it when it is done, so no identifier outlives the step in this process.

    Numbers (six digits or more, like phones, SSNs, account and card numbers, IBANs) match with
    any spacing or punctuation between their characters, as they are written in notes and memos.
    """
    compact = _SEPARATOR.sub("", value)
    if _is_number(compact):
        body = _SEPARATORS.join(re.escape(c) for c in compact)
    else:  # typographic apostrophes and dashes count as the plain ones: O’Neil is O'Neil
        body = re.escape(value).replace("'", _APOSTROPHES).replace(r"\-", _DASHES)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def _is_number(compact: str) -> bool:
    return sum(c.isdigit() for c in compact) >= _MIN_DIGITS and compact.isalnum()


def might_occur(value: str, text: str) -> bool:
    """False only where ``known_value_pattern(value)`` cannot match `text`: most of a row's
    values are not in its note, and this check costs far less than compiling their patterns.

    Exact for ASCII: a match is the value itself up to letter case, apostrophe and dash forms
    (or, for numbers, separators), so the folded text contains the folded value. Any non-ASCII
    character (Unicode case folding has its own pairs, such as the long s and s) answers True.
    """
    if not (value.isascii() and text.isascii()):
        return True
    compact = _SEPARATOR.sub("", value)
    if _is_number(compact):
        return compact.lower() in _SEPARATOR.sub("", text).lower()
    return value.lower().replace("`", "'") in text.lower().replace("`", "'")


def scrub_known_values(text: str, known: dict[str, str]) -> tuple[str, int]:
    """Replace this row's own identifier values (value -> tag) wherever they occur in its text.

    Presidio misses identifiers it has no pattern for; the row itself tells us what to look for.
    """
    hits = 0
    for value in sorted(known, key=len, reverse=True):  # longest first: "Ann Lee" before "Ann"
        if might_occur(value, text):
            text, n = known_value_pattern(value).subn(known[value], text)
            hits += n
    return text, hits
