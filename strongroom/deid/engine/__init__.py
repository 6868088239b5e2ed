"""The analysis engine: texts in, findings out (``find_entities``), fast or stock Presidio.

``fast`` (the default) is strongroom's batched analyzer: NER decoded for a batch of notes at once
(``ner_decode``, ``ner_network``), lemmas without the tagger where they cannot matter (``lemmas``),
pattern gates (``pattern_gates``, ``pattern_runner``), cached phone parses (``phone``), worker
processes (``pool``); the findings of Presidio's ``AnalyzerEngine.analyze``, ten times faster.
``presidio`` is Presidio's own ``BatchAnalyzerEngine`` with the same recognizers: the way back
when a Presidio or spaCy upgrade breaks one of the private APIs ``setup.PRIVATE_APIS`` lists.
``tests/deid/engine/test_engines.py`` checks that both give the same findings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from strongroom.deid.engine.findings import DEFAULT_ENGINE, ENGINES, Engine, Finding

__all__ = ["DEFAULT_ENGINE", "ENGINES", "Engine", "Finding", "find_entities"]


def find_entities(
    texts: Sequence[str],
    *,
    score_threshold: float,
    engine: Engine = DEFAULT_ENGINE,
    processes: int = 1,
    phone_regions: tuple[str, ...] = (),
) -> Iterator[list[Finding]]:
    """(entity type, start, end, score) per text, at `score_threshold`, in order; phone numbers
    in the national formats of `phone_regions` too (ISO 3166 codes, a contract's).

    `processes` > 1 analyses blocks of texts in that many worker processes (each loads the
    model once, a few seconds): for large inputs only. 0: as many as the texts repay and the
    CPUs allow (``pool.auto_processes``).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
    if processes == 0:
        from strongroom.deid.engine.pool import auto_processes

        processes = auto_processes(len(texts))
    if engine == "presidio":
        yield from _stock(
            texts, score_threshold=score_threshold, processes=processes, regions=phone_regions
        )
    elif processes > 1:
        from strongroom.deid.engine.pool import AnalyzerPool

        with AnalyzerPool(processes, phone_regions=phone_regions) as pool:
            yield from pool.analyze(texts, score_threshold=score_threshold)
    else:
        from strongroom.deid.engine.setup import note_analyzer

        analyzer = note_analyzer(None, phone_regions)
        for results in analyzer.analyze(texts, score_threshold=score_threshold):
            yield [(r.entity_type, r.start, r.end, r.score) for r in results]


def _stock(
    texts: Sequence[str], *, score_threshold: float, processes: int, regions: tuple[str, ...]
) -> Iterator[list[Finding]]:
    """Presidio's ``BatchAnalyzerEngine`` (spaCy's ``pipe``; `processes` spaCy workers)."""
    from presidio_analyzer import BatchAnalyzerEngine

    from strongroom.deid.engine.setup import analyzer_engine

    batch = BatchAnalyzerEngine(analyzer_engine(engine="presidio", phone_regions=regions))
    found = batch.analyze_iterator(
        list(texts), language="en", n_process=processes, score_threshold=score_threshold
    )
    for results in found:
        yield [(r.entity_type, r.start, r.end, r.score) for r in results]
