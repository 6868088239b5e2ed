"""Synthetic records through the contract's own validation (records/validate.py), unchanged.

The records package's `validate` runs the released contract's Great Expectations suite
(released.py) on a Parquet file of the records and writes the passing rows, the quarantined ones
with their reasons, and a report of counts per expectation. Nothing here re-implements a check:
only the rows' positions and the counts are read back. Tests: tests/synthesis/test_checks.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from strongroom.records.contract import Contract
from strongroom.records.readers import LINE, SOURCE
from strongroom.records.validate import QUARANTINE_FILE, validate

SOURCE_NAME = "synthetic"


@dataclass(frozen=True)
class Checked:
    passed: pd.Series  # [rows] bool, in the records' order
    unexpected: dict[str, int]  # expectation label -> failing rows (only the failing ones)


def check_records(records: pd.DataFrame, released: Contract, workdir: str | Path) -> Checked:
    """Run the released contract's suite on `records` (text values, None for missing)."""
    if records.empty:
        return Checked(pd.Series([], dtype=bool), {})
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    names = list(released.columns)
    table = pa.Table.from_pandas(
        records[names], schema=pa.schema([(n, pa.string()) for n in names]), preserve_index=False
    )
    table = table.append_column(SOURCE, pa.array([SOURCE_NAME] * len(records), pa.string()))
    # a row's position (1-based, as ingest numbers rows): what the quarantine gives back
    table = table.append_column(LINE, pa.array(range(1, len(records) + 1), pa.int64()))
    path = workdir / "synthetic_records.parquet"
    pq.write_table(table, path)
    result = validate(path, released, workdir / "validation")
    failing = pq.read_table(workdir / "validation" / QUARANTINE_FILE, columns=[LINE])
    bad = set(failing.column(LINE).to_pylist())
    passed = pd.Series([i + 1 not in bad for i in range(len(records))], index=records.index)
    unexpected = {e["expectation"]: e["unexpected"] for e in result.report["expectations"]}
    return Checked(passed, {k: v for k, v in unexpected.items() if v})
