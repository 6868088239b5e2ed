"""A row's own identifier values found in its free text: exact (however spaced or punctuated).

Presidio misses identifiers it has no pattern for; the row itself tells us what to look for.
Misspelt occurrences are ``near_miss``'s; ``english_words`` keeps ordinary words from being taken
for misspelt names.
"""

from __future__ import annotations

import re
from functools import lru_cache

_SEPARATORS = r"[\s().\-/]*"  # how people write numbers: 4111 1111 ..., (555) 123-4567
_APOSTROPHES = "['’‘`´]"
_DASHES = "[-‐‑‒–]"
_MIN_DIGITS = 6  # shorter digit runs (days, doses) would redact ordinary numbers


def known_value_pattern(value: str) -> re.Pattern[str]:
    """A whole-word, case-insensitive pattern for one known identifier value.

    Numbers (six digits or more, like phones, SSNs, account and card numbers, IBANs) match with
    any spacing or punctuation between their characters, as they are written in notes and memos.
    """
    compact = re.sub(r"[\s().\-/]", "", value)
    if sum(c.isdigit() for c in compact) >= _MIN_DIGITS and compact.isalnum():
        body = _SEPARATORS.join(re.escape(c) for c in compact)
    else:  # typographic apostrophes and dashes count as the plain ones: O’Neil is O'Neil
        body = re.escape(value).replace("'", _APOSTROPHES).replace(r"\-", _DASHES)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def scrub_known_values(text: str, known: dict[str, str]) -> tuple[str, int]:
    """Replace this row's own identifier values (value -> tag) wherever they occur in its text.

    Presidio misses identifiers it has no pattern for; the row itself tells us what to look for.
    """
    hits = 0
    for value in sorted(known, key=len, reverse=True):  # longest first: "Ann Lee" before "Ann"
        text, n = known_value_pattern(value).subn(known[value], text)
        hits += n
    return text, hits


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Lower-case English words: the spaCy model's lemma dictionary, irregular forms, stop words."""
    from spacy.lang.en.stop_words import STOP_WORDS

    from strongroom.deid.engine.setup import analyzer_engine

    lookups = analyzer_engine().nlp_engine.nlp["en"].get_pipe("lemmatizer").lookups
    words = set(STOP_WORDS)
    for name in ("lemma_index", "lemma_exc"):
        for entries in lookups.get_table(name, {}).values():
            words.update(w for w in entries if w.isalpha())
    return frozenset(words)
