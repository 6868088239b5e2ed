"""Presidio's analysis of many notes at once, with the findings ``AnalyzerEngine.analyze`` gives.

``AnalyzerEngine.analyze`` runs the whole spaCy pipeline per note (tagger, parser, lemmatizer,
NER), then every recognizer, then deep-copies every finding to score context words. Here a batch
of notes is tokenized once, NER is decoded for the whole batch (``ner_decode``), lemmas are known
without the tagger wherever they can matter (``lemmas``), and the same recognizer objects run on
each note. Notes whose context windows touch a word whose lemma only the tagger can settle go
through the full pipeline, so nothing is decided on a guess.

One difference remains, from NER: spaCy's parser, which Presidio runs and this does not, can put a
sentence start inside what NER would make one entity, and spaCy's NER then may not continue the
entity across it ("Seen by Sarah O'Connor Carlos Patel": two PERSON spans there, one here; in a
demo note "Husband Jessica Oneal at bedside", a boundary before "Oneal" makes Presidio miss the
name, which this finds). ``benchmarks/deid_speed.py`` measures the speed and counts the notes
whose findings differ from ``AnalyzerEngine.analyze``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import product
from math import prod
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.attrs import IDX, LENGTH

from strongroom.deid.engine.lemmas import LemmaOracle
from strongroom.deid.engine.ner_decode import EntityDecoder
from strongroom.deid.engine.pattern_runner import PatternRunner

BATCH_SIZE = 128  # notes per NER batch: large enough for the array work, small enough for cache


@dataclass
class _Note:
    text: str
    words: list[str]
    artifacts: Any  # presidio NlpArtifacts
    results: list[Any]  # RecognizerResult before context enhancement
    needs_tagger: bool  # a context window meets a word whose lemma needs the tagger


class NoteAnalyzer:
    """Batch analysis with an ``AnalyzerEngine``'s recognizers, NLP model and context rules."""

    def __init__(self, engine: Any, *, language: str = "en") -> None:
        self._language = language
        self._nlp_engine = engine.nlp_engine
        self._nlp = engine.nlp_engine.nlp[language]
        self._decoder = EntityDecoder(self._nlp.get_pipe("ner"))
        self._recognizers = engine.registry.get_recognizers(language=language, all_fields=True)
        self._runners = [PatternRunner.wrap(r) for r in self._recognizers]  # same results
        self._entities = engine.get_supported_entities(language=language)
        self._by_id = {r.id: r for r in self._recognizers}
        self._enhancing_ids = {  # recognizers with their own context logic
            r.id
            for r in self._recognizers
            if type(r).enhance_using_context is not EntityRecognizer.enhance_using_context
        }
        self._enhancer = engine.context_aware_enhancer
        words = {w for r in self._recognizers for w in (r.context or [])}
        self._oracle = LemmaOracle(self._nlp, words)

    def analyze(
        self, texts: Iterable[str], *, score_threshold: float, batch_size: int = BATCH_SIZE
    ) -> Iterator[list[Any]]:
        """Findings (``RecognizerResult``) per text, in order, as ``AnalyzerEngine.analyze``."""
        batch: list[str] = []
        for text in texts:
            batch.append(text)
            if len(batch) == batch_size:
                yield from self._analyze_batch(batch, score_threshold)
                batch = []
        if batch:
            yield from self._analyze_batch(batch, score_threshold)

    def _analyze_batch(self, texts: list[str], score_threshold: float) -> Iterator[list[Any]]:
        docs = self._decoder([self._nlp.make_doc(t) for t in texts])
        notes = [self._first_pass(text, doc) for text, doc in zip(texts, docs, strict=True)]
        undecided = [i for i, note in enumerate(notes) if note.needs_tagger]
        full_docs = self._nlp.pipe([texts[i] for i in undecided], disable=["ner"])
        for i, full in zip(undecided, full_docs, strict=True):  # the tagger settles the lemmas
            notes[i].artifacts = self._artifacts(docs[i], notes[i].words, [t.lemma_ for t in full])
        for note in notes:
            yield self._finish(note, score_threshold)

    def _first_pass(self, text: str, doc: Any) -> _Note:
        # token texts as slices of the note: no spaCy Token object per word
        words = [text[i : i + n] for i, n in doc.to_array([IDX, LENGTH]).tolist()]
        lemmas = [self._oracle.lemma(w) for w in words]
        stand_ins = [w if m is None else m for w, m in zip(words, lemmas, strict=True)]
        artifacts = self._artifacts(doc, words, stand_ins)
        results = self._recognize(text, artifacts)
        needs_tagger = self._needs_full_pipeline(text, results, artifacts, lemmas)
        return _Note(text, words, artifacts, results, needs_tagger)

    def _finish(self, note: _Note, score_threshold: float) -> list[Any]:
        results = self._enhance(note.text, note.results, note.artifacts)
        results = [r for r in results if r.score >= score_threshold]
        results = EntityRecognizer.remove_duplicates(results)
        for result in results:
            result.analysis_explanation = None  # as analyze(return_decision_process=False)
        return results

    def _artifacts(self, doc: Any, words: list[str], lemmas: list[str]) -> Any:
        engine = self._nlp_engine
        entities, scores = engine._get_updated_entities(
            engine._get_entities(doc), engine._get_scores_for_entities(doc)
        )
        artifacts = NlpArtifacts(
            entities=entities,
            tokens=words,  # the enhancer only needs each token's length: strings are cheaper
            tokens_indices=doc.to_array(IDX).tolist(),
            lemmas=lemmas,
            nlp_engine=None,  # no keywords computed here: set_keywords' result, from a cache
            language=self._language,
            scores=scores,
        )
        artifacts.nlp_engine = engine
        artifacts.keywords = [k for lemma in lemmas for k in self._oracle.keywords(lemma)]
        return artifacts

    def _recognize(self, text: str, artifacts: Any) -> list[Any]:
        results = []
        for recognizer, runner in zip(self._recognizers, self._runners, strict=True):
            found = runner.analyze(text=text, entities=self._entities, nlp_artifacts=artifacts)
            for result in found or []:
                meta = result.recognition_metadata = result.recognition_metadata or {}
                meta.setdefault(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY, recognizer.id)
                meta.setdefault(RecognizerResult.RECOGNIZER_NAME_KEY, recognizer.name)
            results.extend(found or [])
        return results

    def _context_recognizer(self, result: Any) -> Any:
        meta = result.recognition_metadata
        recognizer = self._by_id.get(meta.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY))
        if recognizer is None or not recognizer.context:
            return None
        if meta.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
            return None
        return recognizer

    def _enhance(self, text: str, raw: list[Any], artifacts: Any) -> list[Any]:
        """``AnalyzerEngine._enhance_using_context`` without its deep copy of every finding."""
        by_recognizer: dict[str | None, list[Any]] = {}
        for result in raw:
            by_recognizer.setdefault(_recognizer_id(result), []).append(result)
        results = []
        for recognizer in self._recognizers:  # recognizer-level enhancement, in the engine's order
            own = by_recognizer.get(recognizer.id, [])
            if recognizer.id not in self._enhancing_ids:  # the default returns them as they are
                results.extend(own)
                continue
            others = [r for r in raw if _recognizer_id(r) != recognizer.id]
            results.extend(
                recognizer.enhance_using_context(
                    text=text,
                    raw_recognizer_results=own,
                    other_raw_recognizer_results=others,
                    nlp_artifacts=artifacts,
                    context=None,
                )
            )
        enhancer = self._enhancer
        for result in results:  # LemmaContextAwareEnhancer.enhance_using_context, in place
            recognizer = self._context_recognizer(result)
            if recognizer is None:
                continue
            surrounding = enhancer._extract_surrounding_words(
                nlp_artifacts=artifacts, word=text[result.start : result.end], start=result.start
            )
            word = enhancer._find_supportive_word_in_context(
                surrounding, recognizer.context, enhancer.context_matching_mode
            )
            if word != "":
                result.score += enhancer.context_similarity_factor
                result.score = max(result.score, enhancer.min_score_with_context_similarity)
                result.score = min(result.score, 1.0)  # ContextAwareEnhancer.MAX_SCORE
        return results

    def _needs_full_pipeline(
        self, text: str, results: list[Any], artifacts: Any, lemmas: Sequence[str | None]
    ) -> bool:
        """Whether some context window's outcome depends on a lemma only the tagger can settle."""
        if all(m is not None for m in lemmas):
            return False
        options = {
            i: self._oracle.signatures(w)
            for i, (w, m) in enumerate(zip(artifacts.tokens, lemmas, strict=True))
            if m is None
        }
        if any(None in o for o in options.values()):
            return True  # a keyword with ':' splits into pieces that could match anywhere
        enhancer = self._enhancer
        window = _Window(lemmas, options, set(artifacts.keywords))
        for result in results:
            recognizer = self._context_recognizer(result)
            if recognizer is None:
                continue
            index = enhancer._find_index_of_match_token(
                text[result.start : result.end],
                result.start,
                artifacts.tokens,
                artifacts.tokens_indices,
            )
            context = {w.lower() for w in recognizer.context}
            for step, count in (
                (-1, enhancer.context_prefix_count),
                (1, enhancer.context_suffix_count),
            ):
                if not window.settled(index, step, count + 1, context):
                    return True
        return False


@dataclass
class _Window:
    """Presidio's walk over keywords around a finding (``_add_n_words``), on partly known lemmas.

    Known lemmas are strings; an unknown one has a set of possible signatures. A window is settled
    when every combination of the unknown lemmas it can reach gives the same answer to "does
    a keyword in it contain one of the recognizer's context words".
    """

    lemmas: Sequence[str | None]
    options: dict[int, frozenset[Any]]  # token index -> possible (keyword, context words)
    keywords: set[str]
    max_combinations: int = 64

    def settled(self, index: int, step: int, remaining: int, context: set[str]) -> bool:
        reach = self._unknown_in_reach(index, step, remaining)
        if not reach:
            return True
        choices = [
            sorted({(kw, bool(words & context)) for kw, words in self.options[i]}) for i in reach
        ]
        if prod(len(c) for c in choices) > self.max_combinations:
            return False
        answers = {
            self._answer(index, step, remaining, context, dict(zip(reach, combo, strict=True)))
            for combo in product(*choices)
        }
        return len(answers) == 1

    def _unknown_in_reach(self, index: int, step: int, remaining: int) -> list[int]:
        """Unknown lemmas the walk can reach (counting none of them as keywords: the longest)."""
        found, i = [], index
        while 0 <= i < len(self.lemmas) and remaining > 0:
            lemma = self.lemmas[i]
            if lemma is None:
                found.append(i)
            elif lemma.lower() in self.keywords:
                remaining -= 1
            i += step
        return found

    def _answer(
        self,
        index: int,
        step: int,
        remaining: int,
        context: set[str],
        chosen: dict[int, tuple[bool, bool]],
    ) -> bool:
        hit, i = False, index
        while 0 <= i < len(self.lemmas) and remaining > 0:
            lemma = self.lemmas[i]
            if lemma is None:
                keyword, contains = chosen[i]
            else:
                lower = lemma.lower()
                keyword = lower in self.keywords
                contains = any(word in lower for word in context)
            if keyword:
                remaining -= 1
                hit = hit or contains
            i += step
        return hit


def _recognizer_id(result: Any) -> str | None:
    return result.recognition_metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY)
