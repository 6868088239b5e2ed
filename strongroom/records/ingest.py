"""Ingest: read CSV / Parquet / JSON Lines, check the columns against the contract, write Parquet.

Every column is carried as text so that nothing is lost or silently coerced here: validation
decides what is a valid integer or date and quarantines what is not. Rows the CSV parser cannot
split (ragged rows) are quarantined with their line number, never dropped.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from strongroom.errors import RecordError
from strongroom.records.contract import Contract
from strongroom.records.io import sha256_file, write_json

RECORDS_FILE = "records.parquet"
INGEST_QUARANTINE_FILE = "ingest_quarantine.parquet"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class IngestResult:
    rows_in: int  # data rows found in the source, ragged ones included
    rows_out: int  # rows written to records.parquet
    rows_quarantined: int  # rows the parser could not split into the contract's columns
    source_sha256: str
    output_dir: Path


def _format_of(path: Path) -> str:
    suffixes = "".join(path.suffixes).lower()
    for fmt, endings in {
        "parquet": (".parquet", ".pq"),
        "jsonl": (".jsonl", ".ndjson", ".json"),
        "csv": (".csv", ".csv.gz", ".tsv", ".txt"),
    }.items():
        if suffixes.endswith(endings):
            return fmt
    raise RecordError("unknown file type (expected .csv, .parquet or .jsonl)", path=str(path))


def _read_csv(path: Path, encoding: str, ragged: list[pacsv.InvalidRow]) -> pa.Table:
    try:
        with open(path, newline="", encoding=encoding) as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as error:
        raise RecordError(
            f"not valid {encoding} text (byte offset {error.start}); pass the right encoding",
            path=str(path),
        ) from None
    if not header:
        raise RecordError("empty file: no header row", path=str(path))

    def on_invalid(row: pacsv.InvalidRow) -> str:
        ragged.append(row)
        return "skip"  # kept: on_invalid's rows are written to the quarantine below

    return pacsv.read_csv(
        path,
        # single-threaded: only then does pyarrow know the line number of a bad row
        read_options=pacsv.ReadOptions(encoding=encoding, use_threads=False),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )


def _read_any(path: Path, encoding: str, ragged: list[pacsv.InvalidRow]) -> pa.Table:
    fmt = _format_of(path)
    try:
        if fmt == "csv":
            return _read_csv(path, encoding, ragged)
        if fmt == "parquet":
            return pq.read_table(path)
        return pajson.read_json(path)
    except RecordError:
        raise
    except (pa.ArrowException, OSError) as error:
        # Arrow's messages can quote raw cell text: keep only the kind of failure.
        raise RecordError(
            f"cannot read {fmt} file ({type(error).__name__})", path=str(path)
        ) from None


def _as_text(table: pa.Table) -> pa.Table:
    """Every column as text; dates and timestamps in ISO form."""
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type):
            column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%S")
        columns.append(column.cast(pa.string()))
    return pa.table(columns, names=table.column_names)


def check_columns(names: list[str], contract: Contract, path: str) -> None:
    """Missing and unexpected columns are both errors: an undeclared column may hold identifiers."""
    missing = [c for c in contract.columns if c not in names]
    extra = [c for c in names if c not in contract.columns]
    problems = []
    if missing:
        problems.append(f"missing column(s) {missing}")
    if extra:
        problems.append(f"column(s) not in contract {contract.name!r}: {extra}")
    if problems:
        raise RecordError("; ".join(problems), path=path)


def ingest(
    source: str | Path, contract: Contract, output_dir: str | Path, *, encoding: str = "utf-8"
) -> IngestResult:
    """Read `source`, check it against `contract`, write records + quarantine + manifest."""
    source, output_dir = Path(source), Path(output_dir)
    if not source.exists():
        raise RecordError("file not found", path=str(source))
    ragged: list[pacsv.InvalidRow] = []
    table = _read_any(source, encoding, ragged)
    check_columns(table.column_names, contract, str(source))
    table = _as_text(table.select(list(contract.columns)))
    output_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, output_dir / RECORDS_FILE)
    quarantine = pa.table(
        {
            "line": pa.array([r.number for r in ragged], pa.int64()),
            "raw": pa.array([r.text for r in ragged], pa.string()),
            "reason": pa.array(
                [f"ragged_row:{r.actual_columns}_of_{r.expected_columns}" for r in ragged],
                pa.string(),
            ),
        }
    )
    pq.write_table(quarantine, output_dir / INGEST_QUARANTINE_FILE)
    result = IngestResult(
        rows_in=table.num_rows + len(ragged),
        rows_out=table.num_rows,
        rows_quarantined=len(ragged),
        source_sha256=sha256_file(source),
        output_dir=output_dir,
    )
    write_json(
        output_dir / MANIFEST_FILE,
        {
            "contract": contract.name,
            "source_name": source.name,
            "source_format": _format_of(source),
            "source_sha256": result.source_sha256,
            "records_sha256": sha256_file(output_dir / RECORDS_FILE),
            "rows_in": result.rows_in,
            "rows_out": result.rows_out,
            "rows_quarantined": result.rows_quarantined,
            "columns": list(contract.columns),
        },
    )
    return result
