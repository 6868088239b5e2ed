"""Throughput of strongroom's note analysis against Presidio's ``AnalyzerEngine.analyze``.

Run it from the repository root:

    .venv/bin/python benchmarks/deid_speed.py [--notes 2000] [--processes N]

The same demo notes (``demo.generate_encounters``, seed 0) go through:

1. the reference: Presidio's ``AnalyzerEngine.analyze`` called note by note, with the recognizers
   the pipeline uses (Presidio's predefined ones, its stock PhoneRecognizer, strongroom's own) and
   the full spaCy pipeline, at the pipeline's score threshold;
2. ``NoteAnalyzer`` in this process, on one core (one BLAS thread): batched NER, lemmas without
   the tagger, pattern gates, shared phone parses; the same recognizers and findings;
3. ``AnalyzerPool`` with `--processes` workers (default: every core), four blocks per worker.

The three take turns on rounds of `--round` notes (500): the reference on a round, then 2, then 3,
then the next round. Interleaving cancels drift in machine speed, which on a shared virtual machine
moved whole runs by a third; each run's time is the sum over its rounds, and the spread of the per-
round speed-ups is printed. Before each of its turns the pool analyses the warm-up note for about
0.2 s in every worker, untimed: a core left idle during the other turns runs slowly at first. Engines and
worker processes are built and warmed on one note (``WARM_UP_TEXT``: a phone number, a date, a
name) before timing, on both sides; the caches (phone parses, lemma candidates, embeddings, spaCy's
vocabulary) start cold. The findings of 2 and 3 are compared with the reference's, note by note, as
(entity type, start, end, score); they can only differ where spaCy's parser (run by the reference
only) starts a sentence inside an entity (``strongroom/deid/engine/note_analyzer.py``).
Stdout: one line per run (notes/s, ms/note, speed-up), the notes whose findings differ (types and
offsets only), and as the last line ``name=value`` pairs. Exit 1 if any finding differs or the
speed-up of run 3 is below 10x. About a minute on two CPU cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from threadpoolctl import threadpool_limits

from strongroom.deid.engine import setup
from strongroom.deid.engine.note_analyzer import NoteAnalyzer
from strongroom.deid.engine.pool import WARM_UP_TEXT, AnalyzerPool
from strongroom.deid.redact import SCORE_THRESHOLD
from strongroom.demo.hospital import generate_encounters

TARGET = 10.0
ROUND = 500  # notes per round: each run takes its turn on the same notes, round after round
Key = list[tuple[str, int, int, float]]


def demo_notes(n: int) -> list[str]:
    patients = n // 2 + 10  # three encounters each on average: more than enough notes
    return list(generate_encounters(patients, seed=0)["note"])[:n]


def key(findings: Iterable[tuple[str, int, int, float]]) -> Key:
    return sorted((entity, start, end, round(score, 6)) for entity, start, end, score in findings)


def reference(notes: Sequence[str], engine: Any) -> list[Key]:
    return [
        key(
            (r.entity_type, r.start, r.end, r.score)
            for r in engine.analyze(note, language="en", score_threshold=SCORE_THRESHOLD)
        )
        for note in notes
    ]


class CountingAnalyzer(NoteAnalyzer):
    """``NoteAnalyzer`` that counts the notes which needed the tagger (the benchmark's report)."""

    full_pipeline_notes = 0

    def _needs_full_pipeline(self, *args: Any, **kwargs: Any) -> bool:
        needs = super()._needs_full_pipeline(*args, **kwargs)
        self.full_pipeline_notes += needs
        return needs


def wake_workers(pool: AnalyzerPool, *, seconds: float = 0.2) -> None:
    """Keep every worker busy on the warm-up note for about `seconds`, untimed (a core that sat
    idle runs slowly at first): one block per worker, sized from the one-process speed."""
    per_block = max(1, int(seconds / 0.005))  # the warm-up note takes ~5 ms
    list(
        pool.analyze(
            [WARM_UP_TEXT] * (per_block * pool.processes), score_threshold=1.0, block=per_block
        )
    )


def one_process(notes: Sequence[str], analyzer: NoteAnalyzer) -> list[Key]:
    with threadpool_limits(1):  # one core: NER's matrix products would use every core
        results = list(analyzer.analyze(notes, score_threshold=SCORE_THRESHOLD))
    return [key((r.entity_type, r.start, r.end, r.score) for r in rs) for rs in results]


def pooled(notes: Sequence[str], pool: AnalyzerPool) -> list[Key]:
    block = -(-len(notes) // (4 * pool.processes))  # four per worker: busy until the end
    found = pool.analyze(notes, score_threshold=SCORE_THRESHOLD, block=block)
    return [key(f) for f in found]


def interleaved(
    notes: Sequence[str],
    runs: dict[str, Callable[[list[str]], list[Key]]],
    size: int,
    prepare: dict[str, Callable[[], None]],
) -> tuple[dict[str, list[Key]], list[dict[str, float]]]:
    """Findings of every run, and the seconds each took on each round of `size` notes
    (`prepare[name]`, if any, runs untimed before each of its turns)."""
    found: dict[str, list[Key]] = {name: [] for name in runs}
    rounds = []
    for start in range(0, len(notes), size):
        chunk = list(notes[start : start + size])
        seconds = {}
        for name, run in runs.items():
            prepare.get(name, lambda: None)()
            begin = time.perf_counter()
            found[name] += run(chunk)
            seconds[name] = time.perf_counter() - begin
        rounds.append(seconds)
        done = min(start + size, len(notes))
        print(f"[deid_speed] {done}/{len(notes)} notes", file=sys.stderr, flush=True)
    return found, rounds


def differences(ref: list[Key], ours: list[Key]) -> list[str]:
    lines = []
    for i, (a, b) in enumerate(zip(ref, ours, strict=True)):
        if a != b:
            missing, extra = sorted(set(a) - set(b)), sorted(set(b) - set(a))
            lines.append(f"  note {i}: only in reference {missing}; only ours {extra}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--round", type=int, default=ROUND, help="notes per interleaved round")
    args = parser.parse_args(argv)
    notes = demo_notes(args.notes)
    n = len(notes)

    engine = setup.analyzer_engine(engine="presidio")  # built outside the timing, like ours
    engine.analyze(WARM_UP_TEXT, language="en")
    single = CountingAnalyzer(setup.analyzer_engine(engine="fast"))
    list(single.analyze([WARM_UP_TEXT], score_threshold=SCORE_THRESHOLD))
    with AnalyzerPool(args.processes) as pool:
        wake_workers(pool, seconds=2.0)  # the first block of each worker also loads its model
        runs: dict[str, Callable[[list[str]], list[Key]]] = {
            "reference": lambda chunk: reference(chunk, engine),
            "one": lambda chunk: one_process(chunk, single),
            "pool": lambda chunk: pooled(chunk, pool),
        }
        # the workers' cores sat idle during the other runs' turns: wake them, untimed
        found, rounds = interleaved(notes, runs, args.round, {"pool": lambda: wake_workers(pool)})
    t_ref, t_one, t_many = (sum(r[name] for r in rounds) for name in ("reference", "one", "pool"))
    ref, one, many = found["reference"], found["one"], found["pool"]

    rows = [
        ("reference (AnalyzerEngine.analyze, note by note)", t_ref),
        ("NoteAnalyzer, 1 process", t_one),
        (f"AnalyzerPool, {args.processes} processes", t_many),
    ]
    print(f"{n} demo notes, {sum(map(len, ref))} findings in the reference, {os.cpu_count()} CPUs")
    for label, seconds in rows:
        print(
            f"{label:<52} {n / seconds:8.1f} notes/s {1000 * seconds / n:7.2f} ms/note "
            f"x{t_ref / seconds:5.2f}"
        )
    diffs = differences(ref, one) + differences(ref, many)
    print(f"notes with different findings: {len(diffs)}")
    print("\n".join(diffs[:10]))
    per_round = sorted(r["reference"] / r["pool"] for r in rounds)
    print(f"pool speed-up per round: min {per_round[0]:.2f}, max {per_round[-1]:.2f}")
    print(f"notes that needed the tagger: {single.full_pipeline_notes}")
    speedup = t_ref / t_many
    failed = []
    if diffs:
        failed.append("findings differ")
    if speedup < TARGET:
        failed.append(f"speed-up {speedup:.2f} < {TARGET:g}")
    print("targets missed: " + "; ".join(failed) if failed else "all targets met")
    print(
        f"notes={n} processes={args.processes} reference_ms_per_note={1000 * t_ref / n:.2f} "
        f"one_process_ms_per_note={1000 * t_one / n:.2f} pool_ms_per_note={1000 * t_many / n:.2f} "
        f"speedup_one_process={t_ref / t_one:.2f} speedup_pool={speedup:.2f} "
        f"notes_differing={len(diffs)} notes_needing_tagger={single.full_pipeline_notes}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
