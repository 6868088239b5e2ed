"""Peak memory of ingest + validate at 10x the demo size against 1x: the ratio must stay below 1.5.

Run it from the repository root:

    .venv/bin/python benchmarks/ingest_memory.py                   # hospital, 2,000 patients vs 20,000
    .venv/bin/python benchmarks/ingest_memory.py --domain bank     # 2,000 customers vs 20,000
    .venv/bin/python benchmarks/ingest_memory.py --units 300       # a quick check

The bound: ingest and validate hold one chunk of rows at a time (5,000 by default) plus 8 bytes a
row for the primary key's hashes (the uniqueness check runs once, over the whole table). So peak
memory is a fixed part (Python, pandas, pyarrow, Great Expectations, one chunk) plus a part that
grows by 8 bytes a row: the hashes of 60,000 demo rows take under 1 MiB, and 10x the input must
stay well under 1.5x the peak. Anything that keeps every chunk or reads a whole file shows up
(a whole 10x CSV in pandas is about 100 MiB; the `data_MiB` column shows it more sharply).

How it measures: the 1x and 10x input files (CSV) are generated first, each by one generator call
with `units` and `scale * units` patients or customers, so every id stays unique. Then ingest +
validate run in a fresh child process per size; the child reports its own peak RSS
(`getrusage(RUSAGE_SELF).ru_maxrss`), its RSS right after the imports (the baseline: what is not
data), its row counts and seconds. On Linux ru_maxrss carries the parent's peak across exec, so
the parent imports only the standard library and generation runs in a child of its own.

The last line is `rows_1x=... rows_10x=... peak_mib_1x=... peak_mib_10x=... ratio=...
baseline_mib=...` (baseline of the 1x child). Exit status: 0 when ratio < 1.5, 1 when not, 3 when
generation or a measurement failed (its error output is shown).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BOUND = 1.5
SCRIPT = Path(__file__).resolve()
# domain -> (contract, generator module, generator function, what a unit is)
DOMAINS: dict[str, tuple[str, str, str, str]] = {
    "hospital": (
        "hospital_encounters",
        "strongroom.demo.hospital",
        "write_demo_records",
        "patients",
    ),
    "bank": (
        "bank_transactions",
        "strongroom.demo.bank",
        "write_bank_records",
        "customers",
    ),
}


@dataclass(frozen=True)
class Measurement:
    rows_in: int
    rows_ok: int
    rows_quarantined: int
    baseline_mib: float
    peak_mib: float
    ingest_s: float
    validate_s: float


class ChildFailed(RuntimeError):
    """A child process exited non-zero; the message holds its error output."""


def progress(message: str) -> None:
    print(f"[ingest_memory] {message}", file=sys.stderr, flush=True)


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


# --- children -------------------------------------------------------------------------------------


def child_generate(domain: str, units: int, path: Path) -> None:
    """Write `units` patients or customers to `path` (CSV), via a temporary name."""
    import importlib

    _, module, function, _ = DOMAINS[domain]
    write = getattr(importlib.import_module(module), function)
    partial = path.with_name(path.name + ".partial.csv")
    write(partial, units, seed=0)
    partial.replace(path)


def child_measure(domain: str, source: Path) -> dict[str, Any]:
    """Ingest + validate `source` next to it; the figures as a dict (printed as JSON)."""
    import great_expectations  # noqa: F401  (imported for the baseline)
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401

    from strongroom.records.contract import load_contract
    from strongroom.records.ingest import RECORDS_FILE, ingest
    from strongroom.records.validate import validate

    contract = load_contract(DOMAINS[domain][0])
    baseline = peak_rss_mib()
    out = source.with_suffix("")
    started = time.perf_counter()
    ingested = ingest(source, contract, out / "ingest")
    middle = time.perf_counter()
    validated = validate(out / "ingest" / RECORDS_FILE, contract, out / "validate")
    done = time.perf_counter()
    return {
        "rows_in": ingested.rows_in,
        "rows_ok": validated.rows_ok,
        "rows_quarantined": ingested.rows_quarantined + validated.rows_quarantined,
        "baseline_mib": baseline,
        "peak_mib": peak_rss_mib(),
        "ingest_s": middle - started,
        "validate_s": done - middle,
    }


# --- parent ---------------------------------------------------------------------------------------


def run_child(args: list[str]) -> str:
    """Run this script as a child with `args`; its stdout, or ChildFailed with its output."""
    command = [sys.executable, str(SCRIPT), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-6000:]
        raise ChildFailed(f"`{' '.join(command)}` exited {done.returncode}:\n{tail}")
    return done.stdout


def input_file(workdir: Path, domain: str, units: int) -> Path:
    """The input for `units` (generated once; an existing one in --workdir is reused)."""
    path = workdir / f"{domain}_{units}.csv"
    if path.exists():
        progress(f"reusing {path}")
        return path
    noun = DOMAINS[domain][3]
    progress(f"generating {units:,} {noun} -> {path}")
    started = time.perf_counter()
    run_child(
        ["--child", "generate", "--domain", domain, "--units", str(units), "--input", str(path)]
    )
    progress(f"  generated in {time.perf_counter() - started:.1f} s")
    return path


def measure(domain: str, source: Path, label: str) -> Measurement:
    progress(f"measuring {label}: ingest + validate {source.name} in a fresh process")
    shutil.rmtree(source.with_suffix(""), ignore_errors=True)  # outputs of an earlier run
    stdout = run_child(["--child", "measure", "--domain", domain, "--input", str(source)])
    found = Measurement(**json.loads(stdout.strip().splitlines()[-1]))
    seconds = found.ingest_s + found.validate_s
    progress(f"  {found.rows_in:,} rows, peak {found.peak_mib:.1f} MiB, {seconds:.1f} s")
    return found


def table(scale: int, units: int, small: Measurement, large: Measurement) -> str:
    header = (
        f"{'size':>5} {'units':>8} {'rows_in':>9} {'rows_ok':>9} {'quarant.':>8} "
        f"{'base_MiB':>9} {'peak_MiB':>9} {'data_MiB':>9} {'ingest_s':>9} {'valid_s':>8}"
    )
    lines = [header]
    for label, n, m in (("1x", units, small), (f"{scale}x", units * scale, large)):
        lines.append(
            f"{label:>5} {n:>8,} {m.rows_in:>9,} {m.rows_ok:>9,} {m.rows_quarantined:>8,} "
            f"{m.baseline_mib:>9.1f} {m.peak_mib:>9.1f} {m.peak_mib - m.baseline_mib:>9.1f} "
            f"{m.ingest_s:>9.1f} {m.validate_s:>8.1f}"
        )
    return "\n".join(lines)


def summary(small: Measurement, large: Measurement) -> tuple[float, str]:
    ratio = large.peak_mib / small.peak_mib
    line = (
        f"rows_1x={small.rows_in} rows_10x={large.rows_in} peak_mib_1x={small.peak_mib:.1f} "
        f"peak_mib_10x={large.peak_mib:.1f} ratio={ratio:.3f} baseline_mib={small.baseline_mib:.1f}"
    )
    return ratio, line


def benchmark(domain: str, units: int, scale: int, workdir: Path) -> int:
    small_input = input_file(workdir, domain, units)
    large_input = input_file(workdir, domain, units * scale)
    small = measure(domain, small_input, "1x")
    large = measure(domain, large_input, f"{scale}x")
    progress(f"parent peak {peak_rss_mib():.1f} MiB (a floor under the children's ru_maxrss)")
    ratio, line = summary(small, large)
    print(f"ingest + validate, domain {domain}, contract {DOMAINS[domain][0]}")
    print(table(scale, units, small, large))
    print(f"peak {scale}x / peak 1x = {ratio:.3f} (bound: below {BOUND})")
    above = (large.peak_mib - large.baseline_mib) / (small.peak_mib - small.baseline_mib)
    print(f"above baseline {scale}x / 1x = {above:.3f} (for information: the data-dependent part)")
    print(line)
    return 0 if ratio < BOUND else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Ingest + validate the demo records at 1x and at --scale times the size, each in a "
            "fresh process, and compare peak memory (RSS). Prints a table and, as the last line, "
            "rows_1x= rows_10x= peak_mib_1x= peak_mib_10x= ratio= baseline_mib=."
        ),
        epilog=(
            f"Exit status: 0 when ratio (peak at scale / peak at 1x) < {BOUND}, 1 when it is not, "
            "3 when generation or a measurement failed."
        ),
    )
    parser.add_argument("--scale", type=int, default=10, help="size multiple to compare (10)")
    parser.add_argument("--units", type=int, default=2000, help="patients/customers at 1x (2000)")
    parser.add_argument(
        "--domain", choices=sorted(DOMAINS), default="hospital", help="demo records (hospital)"
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep inputs and outputs here (default: a temporary folder)"
    )
    parser.add_argument("--child", choices=["generate", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.units < 1 or args.scale < 2:
        parser.error("--units must be at least 1 and --scale at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child == "generate":
        child_generate(args.domain, args.units, args.input)
        return 0
    if args.child == "measure":
        print(json.dumps(child_measure(args.domain, args.input)))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ingest_memory_"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return benchmark(args.domain, args.units, args.scale, workdir)
    except ChildFailed as failure:
        print(failure, file=sys.stderr)
        return 3
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
