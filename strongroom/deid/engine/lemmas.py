"""Lemmas for Presidio's context words, without running spaCy's tagger when they cannot matter.

Presidio raises a pattern finding's score when a context word ("phone", "mrn" ...) is a substring
of the lemma of one of the five keywords before it (``LemmaContextAwareEnhancer``). Lemmas need
the tagger, the parser and the lemmatizer: twice the cost of NER. But what Presidio uses of a
lemma is little: whether it counts as a keyword (not a stop word, not punctuation, no ``:``) and
which context words it contains. ``LemmaOracle`` lists every lemma the English rule lemmatizer
could give a word, under any part of speech, plus every lemma the attribute ruler can set for it;
when all of them agree on those two things, any of them gives Presidio the same scores. Words
where they disagree ("does": "do" is a stop word, "doe" is not) are reported, and their notes go
through the full pipeline. ``tests/records/test_lemmas.py`` checks, word by word, that the
pipeline's own lemma is always among the candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_NOT_KEYWORDS = ("-PRON-", "be")  # Presidio's NlpArtifacts.set_keywords drops these too

_CACHE_WORDS = 500_000  # distinct words remembered (then forgotten all at once)

# (is a keyword, the context words it contains): all that Presidio's enhancer sees of a lemma
Signature = tuple[bool, frozenset[str]]


@dataclass(frozen=True)
class PosTables:
    """The rule lemmatizer's lookups for one part of speech."""

    index: frozenset[str]  # known lemmas (a list of tens of thousands in spaCy: a set here)
    exceptions: dict[str, list[str]]  # irregular forms: "was" -> ["be"]
    rules: list[tuple[str, str]]  # suffix rewrites: ("ies", "y")

    # last characters of the rule suffixes, None if one is empty: a word ending otherwise
    # (a number, a date) has no rule to try
    endings: frozenset[str] | None = field(init=False)

    def __post_init__(self) -> None:
        empty = any(not old for old, _ in self.rules)
        endings = None if empty else frozenset(old[-1] for old, _ in self.rules)
        object.__setattr__(self, "endings", endings)


def pos_tables(lemmatizer: Any) -> dict[str | int, PosTables]:
    """The lookups of every part of speech spaCy's rule lemmatizer has rules for, by its name
    ("noun" ...; a key of the tables that is no universal part of speech stays a hash)."""
    from spacy.parts_of_speech import IDS
    from spacy.strings import get_string_id

    names = {get_string_id(pos.lower()): pos.lower() for pos in IDS}
    names.update({get_string_id(pos): pos for pos in list(names.values())})
    tables = {
        t: lemmatizer.lookups.get_table(t, {}) for t in ("lemma_index", "lemma_exc", "lemma_rules")
    }
    parts = {pos for table in tables.values() for pos in table}
    return {
        names.get(pos, pos): PosTables(
            frozenset(tables["lemma_index"].get(pos, ())),
            dict(tables["lemma_exc"].get(pos, {})),
            [tuple(rule) for rule in tables["lemma_rules"].get(pos, [])],
        )
        for pos in parts
    }


def rule_lemma(tables: PosTables, text: str) -> str:
    """The first lemma spaCy's rule lemmatizer (``Lemmatizer.rule_lemmatize``) gives `text` for
    a part of speech, when the word is not a base form (a base form keeps its lower-cased text,
    which is a candidate anyway)."""
    string = text.lower()
    forms: list[str] = []
    oov: list[str] = []
    endings = tables.endings
    rules = tables.rules if endings is None or string[-1:] in endings else ()
    for old, new in rules:
        if string.endswith(old):
            form = string[: len(string) - len(old)] + new
            if not form:
                continue
            if form in tables.index:
                forms.insert(0, form)
            elif not form.isalpha():
                forms.append(form)
            else:
                oov.append(form)
    forms = list(dict.fromkeys(forms))
    for form in tables.exceptions.get(string, []):
        if form not in forms:
            forms.insert(0, form)
    return (forms or oov or [text])[0]


def _spec_matches(spec: Any, value: str) -> bool:
    """Whether an attribute-ruler token condition on LOWER / ORTH can hold for `value`."""
    if isinstance(spec, str):
        return spec == value
    if isinstance(spec, dict) and "IN" in spec:
        return value in spec["IN"]
    if isinstance(spec, dict) and "REGEX" in spec:
        return re.search(spec["REGEX"], value) is not None
    return True  # a condition we do not model: assume it can hold


def _ruler_lemmas(nlp: Any) -> tuple[dict[str, set[str]], list[tuple[dict[str, Any], str]]]:
    """Lemmas the attribute ruler can set: by lower-cased word, and those with other conditions."""
    by_lower: dict[str, set[str]] = {}
    other: list[tuple[dict[str, Any], str]] = []
    if "attribute_ruler" not in nlp.pipe_names:
        return by_lower, other
    for rule in nlp.get_pipe("attribute_ruler").patterns:
        if "LEMMA" not in rule["attrs"]:
            continue
        lemma = rule["attrs"]["LEMMA"]
        for pattern in rule["patterns"]:
            condition = pattern[rule.get("index", 0)]
            if set(condition) & {"LOWER", "ORTH", "TEXT", "NORM"} == {"LOWER"} and isinstance(
                condition["LOWER"], str
            ):
                by_lower.setdefault(condition["LOWER"], set()).add(lemma)
            else:
                other.append((condition, lemma))
    return by_lower, other


class LemmaOracle:
    """Lemma stand-ins that give Presidio's context enhancer exactly the pipeline's results."""

    def __init__(self, nlp: Any, context_words: Iterable[str]) -> None:
        self._vocab = nlp.vocab  # the analyzer's own vocabulary: the same stop words
        self._pos_tables = list(pos_tables(nlp.get_pipe("lemmatizer")).values())
        self._ruler_by_lower, self._ruler_other = _ruler_lemmas(nlp)
        self._words = sorted({w.lower() for w in context_words})
        self._cache: dict[str, str | None] = {}
        self._signatures: dict[str, frozenset[Signature | None]] = {}
        self._keywords: dict[str, list[str]] = {}

    def candidates(self, text: str) -> set[str]:
        """Every lemma the tagger + attribute ruler + rule lemmatizer could give the word `text`."""
        found = {text, text.lower()}  # proper nouns and base forms; a part of speech without rules
        found.update(rule_lemma(tables, text) for tables in self._pos_tables)
        lower = text.lower()
        found.update(self._ruler_by_lower.get(lower, ()))
        for condition, lemma in self._ruler_other:
            if all(
                _spec_matches(condition[key], lower if key == "LOWER" else text)
                for key in ("LOWER", "ORTH", "TEXT", "NORM")
                if key in condition
            ):
                found.add(lemma)
        return found

    def lemma(self, text: str) -> str | None:
        """A lemma for `text` that Presidio treats exactly like the real one, or None if the
        candidates disagree (then only the tagger can tell, where it matters)."""
        if text not in self._cache:
            self._learn(text)
        return self._cache[text]

    def signatures(self, text: str) -> frozenset[Signature | None]:
        """The distinct signatures of the candidates of `text` (None: a keyword with a ':')."""
        if text not in self._signatures:
            self._learn(text)
        return self._signatures[text]

    def keywords(self, lemma: str) -> list[str]:
        """What Presidio's ``NlpArtifacts.set_keywords`` makes of one lemma: [] for a stop word
        or punctuation, else the lower-cased lemma split at ':'."""
        if lemma not in self._keywords:
            lexeme = self._vocab[lemma]
            keyword = not (lexeme.is_stop or lexeme.is_punct or lemma in _NOT_KEYWORDS)
            self._remember(self._keywords, lemma, lemma.lower().split(":") if keyword else [])
        return self._keywords[lemma]

    def _learn(self, text: str) -> None:
        candidates = self.candidates(text)
        found = frozenset(self._signature(c) for c in candidates)
        decided = len(found) == 1 and None not in found
        self._remember(self._signatures, text, found)
        self._remember(self._cache, text, min(candidates) if decided else None)

    @staticmethod
    def _remember(cache: dict[str, Any], key: str, value: Any) -> None:
        if len(cache) >= _CACHE_WORDS:  # millions of notes bring millions of numbers and IDs
            cache.clear()
        cache[key] = value

    def _signature(self, lemma: str) -> Signature | None:
        """What the context enhancer uses of a lemma: is it a keyword, which words it contains."""
        if not self.keywords(lemma):
            return (False, frozenset())
        if ":" in lemma:
            return None  # split into pieces that other words might match: never decide alone
        lower = lemma.lower()
        return (True, frozenset(w for w in self._words if w in lower))
