"""``NoteAnalyzer`` in worker processes: the fast engine on several cores."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from strongroom.deid.engine.findings import Finding
from strongroom.deid.engine.note_analyzer import BATCH_SIZE, NoteAnalyzer
from strongroom.deid.engine.setup import analyzer_engine

# Analysed once by each worker before its first block: libphonenumber loads each region's
# metadata, spaCy and the lemma tables their lazy parts, on first use.
WARM_UP_TEXT = "Warm up: Dr. Ann Lee, MRN 1234567, seen 2020-01-02; call 212-555-0100, ann@x.org."

_WORKER: dict[str, Any] = {}
# Starting workers costs ~6 s (spawn, imports, the model, a warm-up: measured on 2 cores), against
# ~0.9 ms a note analysed: below this many texts one process is as fast (6,079 demo notes: 8.2 s
# in the calling process, 8.5 s with two workers); each further worker needs half as many again.
POOL_FROM_TEXTS = 10_000
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota> <period>" or "max ..."


def usable_cpus() -> int:
    """CPUs this process may use: its affinity, capped by a cgroup CPU quota (a Kubernetes
    limit: os.cpu_count() would count the node's cores)."""
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
    except (OSError, ValueError):
        return cpus
    return cpus if quota == "max" else max(1, min(cpus, int(quota) // int(period)))


def auto_processes(texts: int) -> int:
    """Worker processes for `texts` texts: one (no pool) below ``POOL_FROM_TEXTS``, then as many
    as the CPUs allow and the texts repay."""
    if texts < POOL_FROM_TEXTS:
        return 1
    return max(1, min(usable_cpus(), 2 * texts // POOL_FROM_TEXTS))


def _start_worker(model_name: str | None, phone_regions: tuple[str, ...]) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # one core per worker: BLAS threads would fight the other workers
    analyzer = NoteAnalyzer(analyzer_engine(model_name, engine="fast", phone_regions=phone_regions))
    for _ in analyzer.analyze([WARM_UP_TEXT], score_threshold=1.0):
        pass
    _WORKER["analyzer"] = analyzer


def _analyze_block(block: tuple[list[str], float]) -> list[list[Finding]]:
    texts, score_threshold = block
    analyzer: NoteAnalyzer = _WORKER["analyzer"]
    return [
        [(r.entity_type, r.start, r.end, r.score) for r in results]
        for results in analyzer.analyze(texts, score_threshold=score_threshold)
    ]


class AnalyzerPool:
    """``NoteAnalyzer`` in worker processes (each loads the model once), results in order.

    Workers are spawned, not forked (no copy of a parent holding threads). A worker that cannot
    start (no model) or dies breaks the pool: the error reaches the caller instead of a hang.
    """

    def __init__(
        self,
        processes: int,
        *,
        model_name: str | None = None,
        phone_regions: tuple[str, ...] = (),
    ) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._executor = ProcessPoolExecutor(
            processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(model_name, phone_regions),
        )
        self.processes = processes

    def analyze(
        self, texts: Sequence[str], *, score_threshold: float, block: int = 4 * BATCH_SIZE
    ) -> Iterator[list[Finding]]:
        blocks = [
            (list(texts[i : i + block]), score_threshold) for i in range(0, len(texts), block)
        ]
        for found in self._executor.map(_analyze_block, blocks):
            yield from found

    def close(self, *, failed: bool = False) -> None:
        """Wait for the workers to finish; after a failure, drop the blocks not yet started."""
        self._executor.shutdown(wait=True, cancel_futures=failed)

    def __enter__(self) -> AnalyzerPool:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(failed=exc_type is not None)
