"""A row's own identifier values found in its free text: exact (however spaced or punctuated).

Presidio misses identifiers it has no pattern for; the row itself tells us what to look for.
Misspelt occurrences are ``near_miss``'s; ``english_words`` keeps ordinary words from being taken
for misspelt names.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from strongroom.deid.spacy_model import english_words  # re-exported: near misses use it

__all__ = [
    "clear_caches",
    "english_words",
    "fold",
    "known_value_pattern",
    "might_occur",
    "scrub_known_values",
    "value_spans",
]

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


@dataclass(frozen=True)
class Folded:
    """A text as ``might_occur`` compares it: lower case, ` as ', and without separators."""

    ascii: bool
    words: str
    digits: str


def fold(text: str) -> Folded:
    lower = text.lower().replace("`", "'")
    return Folded(ascii=text.isascii(), words=lower, digits=_SEPARATOR.sub("", lower))


@functools.lru_cache(maxsize=1 << 16)
def _needle(value: str) -> tuple[bool, bool, str]:
    """(ASCII, a number, the folded value); cached and cleared like the patterns."""
    compact = _SEPARATOR.sub("", value)
    number = _is_number(compact)
    folded = compact.lower() if number else value.lower().replace("`", "'")
    return value.isascii(), number, folded


def might_occur(value: str, text: str | Folded) -> bool:
    """False only where ``known_value_pattern(value)`` cannot match `text`: most of a row's
    values are not in its note, and this check costs far less than compiling their patterns
    (pass the text ``fold``-ed once when looking for many values in it).

    Exact for ASCII: a match is the value itself up to letter case, apostrophe and dash forms
    (or, for numbers, separators), so the folded text contains the folded value. Any non-ASCII
    character (Unicode case folding has its own pairs, such as the long s and s) answers True.
    """
    folded = fold(text) if isinstance(text, str) else text
    ascii_value, number, needle = _needle(value)
    if not (ascii_value and folded.ascii):
        return True
    return needle in (folded.digits if number else folded.words)


def value_spans(value: str, text: str, folded: Folded | None = None) -> list[tuple[int, int]]:
    """Where ``known_value_pattern(value)`` matches `text`, left to right, not overlapping.

    For an ASCII word value in ASCII text the pattern is the value itself up to case and the
    apostrophe ` for ', between non-word characters: found with ``str.find`` on the folded text,
    which saves compiling a pattern per value (tests/deid/test_record_values.py checks both give
    the same spans). Numbers, other scripts and values holding ` go through the pattern.
    """
    folded = folded or fold(text)
    ascii_value, number, needle = _needle(value)
    if number or not (ascii_value and folded.ascii) or "`" in value:
        return [m.span() for m in known_value_pattern(value).finditer(text)]
    spans, at = [], folded.words.find(needle)
    while at >= 0:
        end = at + len(needle)
        if not (_word_char(text, at - 1) or _word_char(text, end)):
            spans.append((at, end))
            at = folded.words.find(needle, end)
        else:
            at = folded.words.find(needle, at + 1)
    return spans


def _word_char(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")


def clear_caches() -> None:
    """Forget every value seen (the patterns and needles hold a shard's identifiers)."""
    known_value_pattern.cache_clear()
    _needle.cache_clear()


def scrub_known_values(text: str, known: dict[str, str]) -> tuple[str, int]:
    """Replace this row's own identifier values (value -> tag) wherever they occur in its text.

    Presidio misses identifiers it has no pattern for; the row itself tells us what to look for.
    """
    hits, folded = 0, fold(text)
    for value in sorted(known, key=len, reverse=True):  # longest first: "Ann Lee" before "Ann"
        if not might_occur(value, folded):
            continue
        spans = value_spans(value, text, folded)
        for start, end in reversed(spans):
            text = text[:start] + known[value] + text[end:]
        hits, folded = hits + len(spans), fold(text) if spans else folded
    return text, hits
