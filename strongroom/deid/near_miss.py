"""A record's own identifiers, misspelt: "Jonh Smiht" for John Smith, one digit off an MRN.

The exact pass (``record_values.scrub_known_values``) finds a record's values however they are spaced or
punctuated; people also mistype them. A word is taken for a misspelling of a known name word when
it is within one edit (two from eight letters on; a swap of neighbours is one edit) and is written
like a name (capitalised or upper case: lower-case words one letter from a surname are mostly
ordinary words, "will" and Hill), unless it is an English word (the lemmatizer's dictionary and
the stop words) at the start of a sentence, where every word is capitalised: "Card ending 5411"
is not a misspelt Carl, but "Dr Crater" mid-sentence is taken for Carter. A run of digits
is taken for a mistyped identifier when it has eight digits or more and is one edit from a known
number (a digit changed, added, dropped, or two neighbours swapped). What this pass replaces is counted apart in the report.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet

_JOINERS = "'’‘‐‑-"  # apostrophes and hyphens inside a name: O'Neil, O’Neil, Smith-Jones
_WORD = re.compile(rf"(?<![<\w])[^\W\d_]+(?:[{_JOINERS}][^\W\d_]+)*(?![\w>])")
_DIGITS = re.compile(r"(?<![\d<])\d(?:[\s().\-/]*\d){7,}(?![\d>])")  # also MRN12345679
_NAME_WORD = re.compile(rf"[^\W\d_]+(?:[{_JOINERS}][^\W\d_]+)*")
_PLAIN = str.maketrans({"’": "'", "‘": "'", "‐": "-", "‑": "-"})
_MIN_NAME = 4  # shorter words ("Li", "Ann") have too many one-letter neighbours
_MIN_DIGITS = 8


def _plain(word: str) -> str:
    """Typographic apostrophes and hyphens as the plain ones."""
    return word.translate(_PLAIN)


def is_name_word(word: str) -> bool:
    """Letters, possibly joined by an apostrophe or hyphen: "Lee", "O'Connor", "Smith-Jones"."""
    return _NAME_WORD.fullmatch(word) is not None


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap), capped at limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def _allowed_edits(word: str) -> int:
    return 2 if len(word) >= 8 else 1


def _starts_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'(")
    return not before or before[-1] in ".!?:;\n"


def _name_like(token: str) -> bool:
    return token[0].isupper()


def scrub_near_misses(
    text: str, known: dict[str, str], english: AbstractSet[str] = frozenset()
) -> tuple[str, int]:
    """Replace misspelt occurrences of this record's name words and long numbers with their tags.

    `known` maps a value to its tag, as for ``scrub_known_values`` (run that first: exact
    occurrences are gone by then, so what is left and close is a misspelling). `english`: lower-
    case English words, never taken for misspellings.
    """
    words = {w.lower(): tag for w, tag in known.items() if is_name_word(w) and len(w) >= _MIN_NAME}
    numbers = {
        d: tag
        for v, tag in known.items()
        if len(d := re.sub(r"\D", "", v)) >= _MIN_DIGITS and re.fullmatch(r"[\d\s().\-/+]+", v)
    }
    hits = 0

    def word(match: re.Match[str]) -> str:
        nonlocal hits
        token = match.group()
        lower = _plain(token.lower())
        if not _name_like(token) or len(lower) < _MIN_NAME:
            return token
        if lower in english and _starts_sentence(text, match.start()):
            return token  # "Card ending 5411": capitalised because it starts the sentence
        for name, tag in words.items():
            if lower != name and edit_distance(lower, name, _allowed_edits(name)) <= _allowed_edits(
                name
            ):
                hits += 1
                return tag
        return token

    def number(match: re.Match[str]) -> str:
        nonlocal hits
        digits = re.sub(r"\D", "", match.group())
        for value, tag in numbers.items():
            if digits != value and edit_distance(digits, value, 1) <= 1:
                hits += 1
                return tag
        return match.group()

    if words:
        text = _WORD.sub(word, text)
    if numbers:
        text = _DIGITS.sub(number, text)
    return text, hits
