"""Small shared helpers for record files: hashing, JSON, Parquet in and out."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: str | Path, data: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    return path


def read_json(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def strings_frame(table: pa.Table | pa.RecordBatch) -> pd.DataFrame:
    """Arrow text columns as a DataFrame of Python str / None (no NaN surprises)."""
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    return frame.astype(object).where(frame.notna(), None)


def read_strings(path: str | Path) -> pd.DataFrame:
    """A Parquet table of strings as a DataFrame of Python str / None."""
    return strings_frame(pq.read_table(path))


def write_strings(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame whose columns are all text (None for null) as Parquet."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([(str(c), pa.string()) for c in frame.columns])
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    pq.write_table(table, path)
    return path


def write_table_file(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write records as Parquet when the suffix says so, else CSV (demo and test inputs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path
