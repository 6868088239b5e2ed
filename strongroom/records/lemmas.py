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
from typing import Any

_NOT_KEYWORDS = ("-PRON-", "be")  # Presidio's NlpArtifacts.set_keywords drops these too

# (is a keyword, the context words it contains): all that Presidio's enhancer sees of a lemma
Signature = tuple[bool, frozenset[str]]


def rule_lemma(lemmatizer: Any, text: str, pos: str) -> str:
    """The first lemma spaCy's rule lemmatizer gives `text` as part of speech `pos` (lower case),
    when the word is not a base form (a base form keeps its lower-cased text, also a candidate)."""
    tables = {t: lemmatizer.lookups.get_table(t, {}) for t in ("lemma_index", "lemma_exc")}
    index = tables["lemma_index"].get(pos, {})
    exceptions = tables["lemma_exc"].get(pos, {})
    rules = lemmatizer.lookups.get_table("lemma_rules", {}).get(pos, {})
    string = text.lower()
    forms: list[str] = []
    oov: list[str] = []
    for old, new in rules:
        if string.endswith(old):
            form = string[: len(string) - len(old)] + new
            if not form:
                continue
            if form in index:
                forms.insert(0, form)
            elif not form.isalpha():
                forms.append(form)
            else:
                oov.append(form)
    forms = list(dict.fromkeys(forms))
    for form in exceptions.get(string, []):
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


def _ruler_lemmas(nlp: Any) -> list[tuple[dict[str, Any], str]]:
    """(token condition, lemma) for each attribute-ruler pattern that sets a lemma."""
    if "attribute_ruler" not in nlp.pipe_names:
        return []
    out = []
    for rule in nlp.get_pipe("attribute_ruler").patterns:
        if "LEMMA" in rule["attrs"]:
            for pattern in rule["patterns"]:
                out.append((pattern[rule.get("index", 0)], rule["attrs"]["LEMMA"]))
    return out


class LemmaOracle:
    """Lemma stand-ins that give Presidio's context enhancer exactly the pipeline's results."""

    def __init__(self, nlp: Any, context_words: Iterable[str]) -> None:
        self._vocab = nlp.vocab  # the analyzer's own vocabulary: the same stop words
        self._lemmatizer = nlp.get_pipe("lemmatizer")
        self._pos = sorted(
            {p for t in ("lemma_rules", "lemma_exc", "lemma_index")
             for p in self._lemmatizer.lookups.get_table(t, {})}
        )  # fmt: skip
        self._ruler = _ruler_lemmas(nlp)
        self._words = sorted({w.lower() for w in context_words})
        self._cache: dict[str, str | None] = {}
        self._signatures: dict[str, frozenset[Signature | None]] = {}

    def candidates(self, text: str) -> set[str]:
        """Every lemma the tagger + attribute ruler + rule lemmatizer could give the word `text`."""
        found = {text, text.lower()}  # proper nouns and base forms; a part of speech without rules
        found.update(rule_lemma(self._lemmatizer, text, pos) for pos in self._pos)
        lower = text.lower()
        for condition, lemma in self._ruler:
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
            options = self.candidates(text)
            decided = len(self.signatures(text)) == 1 and None not in self.signatures(text)
            self._cache[text] = min(options) if decided else None
        return self._cache[text]

    def signatures(self, text: str) -> frozenset[Signature | None]:
        """The distinct signatures of the candidates of `text` (None: a keyword with a ':')."""
        if text not in self._signatures:
            found = frozenset(self._signature(c) for c in self.candidates(text))
            self._signatures[text] = found
        return self._signatures[text]

    def _signature(self, lemma: str) -> Signature | None:
        """What the context enhancer uses of a lemma: is it a keyword, which words it contains."""
        lexeme = self._vocab[lemma]
        keyword = not (lexeme.is_stop or lexeme.is_punct or lemma in _NOT_KEYWORDS)
        if not keyword:
            return (False, frozenset())
        if ":" in lemma:
            return None  # split into pieces that other words might match: never decide alone
        lower = lemma.lower()
        return (True, frozenset(w for w in self._words if w in lower))
