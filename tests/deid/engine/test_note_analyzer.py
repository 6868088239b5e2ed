"""NoteAnalyzer and AnalyzerPool against Presidio's AnalyzerEngine.analyze, note by note."""

from __future__ import annotations

import pytest

from strongroom.deid.engine import setup
from strongroom.deid.engine.note_analyzer import NoteAnalyzer
from strongroom.deid.engine.pool import AnalyzerPool
from strongroom.deid.redact import SCORE_THRESHOLD, redact_texts
from tests.deid.deid_texts import comparison_texts

Key = list[tuple[str, int, int, float]]


def _key(found) -> Key:  # type: ignore[no-untyped-def]
    return sorted((e, s, t, round(c, 6)) for e, s, t, c in found)


@pytest.fixture(scope="module")
def reference() -> list[Key]:
    pytest.importorskip(setup.DEFAULT_SPACY_MODEL)
    engine = setup.analyzer_engine(engine="presidio")
    return [
        _key(
            (r.entity_type, r.start, r.end, r.score)
            for r in engine.analyze(text, language="en", score_threshold=SCORE_THRESHOLD)
        )
        for text in comparison_texts()
    ]


class _CountingTagger(NoteAnalyzer):
    """Counts the notes that needed the tagger (a test-side hook, not the engine's)."""

    full_pipeline_notes = 0

    def _needs_full_pipeline(self, *args, **kwargs) -> bool:  # type: ignore[no-untyped-def]
        needs = super()._needs_full_pipeline(*args, **kwargs)
        self.full_pipeline_notes += needs
        return needs


def test_same_findings_as_analyzer_engine(reference: list[Key]) -> None:
    analyzer = _CountingTagger(setup.analyzer_engine())
    results = analyzer.analyze(comparison_texts(), score_threshold=SCORE_THRESHOLD, batch_size=50)
    got = [_key((r.entity_type, r.start, r.end, r.score) for r in rs) for rs in results]
    assert sum(map(len, reference)) > 1000
    for text, want, have in zip(comparison_texts(), reference, got, strict=True):
        assert have == want, text
    # "does" (do / doe) five keywords before a phone number: only the tagger can tell
    assert analyzer.full_pipeline_notes >= 1


def test_context_words_still_raise_scores(reference: list[Key]) -> None:
    # a bare 8-digit number is an MRN only near "MRN" (context) in the reference, and in ours
    analyzer = NoteAnalyzer(setup.analyzer_engine())
    texts = ["MRN 00123456 admitted", "Room 00123456 admitted"]
    found = [
        {r.entity_type for r in rs}
        for rs in analyzer.analyze(texts, score_threshold=SCORE_THRESHOLD)
    ]
    assert "MEDICAL_RECORD_NUMBER" in found[0]
    assert "MEDICAL_RECORD_NUMBER" not in found[1]


def test_worker_processes_give_the_same_findings(reference: list[Key]) -> None:
    texts = list(comparison_texts())[:80]
    with AnalyzerPool(2) as pool:
        got = [_key(f) for f in pool.analyze(texts, score_threshold=SCORE_THRESHOLD, block=16)]
    assert got == reference[:80]


def test_redact_texts_in_processes_matches_one_process() -> None:
    texts = list(comparison_texts())[14:40]
    assert redact_texts(texts, processes=2) == redact_texts(texts)


def test_the_known_difference_sentence_starts_the_parser_finds() -> None:
    # Presidio runs spaCy's parser, which starts a sentence at "Carlos"; NER then closes the
    # entity there. Without the parser, one PERSON covers both names: every character the
    # reference redacts is redacted here too.
    text = "Seen by Sarah O'Connor Carlos Patel today"
    engine = setup.analyzer_engine(engine="presidio")
    ref = [
        (r.start, r.end) for r in engine.analyze(text, language="en") if r.entity_type == "PERSON"
    ]
    ours = [
        (r.start, r.end)
        for rs in NoteAnalyzer(setup.analyzer_engine()).analyze([text], score_threshold=0.0)
        for r in rs
        if r.entity_type == "PERSON"
    ]
    assert ref == [(8, 22), (23, 35)]
    assert ours == [(8, 35)]


def test_a_pool_whose_workers_cannot_start_fails_instead_of_hanging() -> None:
    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(BrokenProcessPool), AnalyzerPool(2, model_name="no_such_model") as pool:
        list(pool.analyze(["MRN 00123456"], score_threshold=SCORE_THRESHOLD))
