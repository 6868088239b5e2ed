"""Fan-out and fan-in of the de-identification stage over row shards.

On Kubeflow the shards run as a `dsl.ParallelFor`, one pod each, so a cluster scales the slowest
stage out. The pseudonymisation key must exist before the fan-out: shards that each created their
own key would give one person several pseudonyms, and the corpus would count them as several
people, which breaks the per-person guarantee.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from strongroom.deid.deidentify import DEIDENTIFIED_FILE, load_key
from strongroom.run_record.reports import DeidReport


def plan_shards(key_file: str | None, shards: int) -> list[int]:
    """Create the key once (unless it comes from the environment); the shard numbers."""
    if shards < 1:
        raise ValueError("shards must be at least 1")
    load_key(key_file or None, create=True)
    return list(range(shards))


def merge_shards(part_dirs: list[str | Path], output_dir: str | Path) -> DeidReport:
    """Concatenate the shards' de-identified rows and add up their reports (counts only)."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    parts = [Path(p) for p in part_dirs]
    schema = pq.read_schema(parts[0] / DEIDENTIFIED_FILE)
    with pq.ParquetWriter(output_dir / DEIDENTIFIED_FILE, schema) as writer:
        for part in parts:
            writer.write_table(pq.read_table(part / DEIDENTIFIED_FILE, schema=schema))
    merged = DeidReport.merged([DeidReport.load(part) for part in parts])
    merged.write(output_dir)
    return merged
