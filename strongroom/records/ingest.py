"""Ingest: stream CSV / Parquet / JSON Lines into one Parquet file of text columns.

Every column is carried as text so that nothing is lost or silently coerced here: validation
decides what is a valid integer or date and quarantines what is not. Rows the readers cannot split
into the contract's columns (ragged CSV rows, broken JSON lines) are quarantined with their source
and line, never dropped: rows_in == rows_out + rows_quarantined.

Memory: one chunk of rows at a time (see readers.ReadOptions), whatever the input size.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from strongroom.errors import RecordError
from strongroom.records.contract import Contract
from strongroom.records.io import sha256_file, write_json
from strongroom.records.readers import LINE, SOURCE, ReadOptions, Reject, read_chunks
from strongroom.records.sources import display_name, resolve_sources

log = logging.getLogger(__name__)
RECORDS_FILE = "records.parquet"
INGEST_QUARANTINE_FILE = "ingest_quarantine.parquet"
MANIFEST_FILE = "manifest.json"
_QUARANTINE_SCHEMA = pa.schema(
    [("source", pa.string()), ("line", pa.int64()), ("reason", pa.string()), ("raw", pa.string())]
)


@dataclass(frozen=True)
class IngestResult:
    rows_in: int  # data rows found in the sources, unparseable ones included
    rows_out: int  # rows written to records.parquet
    rows_quarantined: int  # rows the readers could not split into the contract's columns
    output_dir: Path


def records_schema(contract: Contract) -> pa.Schema:
    fields = [(name, pa.string()) for name in contract.columns]
    return pa.schema([*fields, (SOURCE, pa.string()), (LINE, pa.int64())])


def _rejects_table(source: str, rejects: list[Reject]) -> pa.Table:
    return pa.table(
        [
            pa.array([source] * len(rejects), pa.string()),
            pa.array([r.line for r in rejects], pa.int64()),
            pa.array([r.reason for r in rejects], pa.string()),
            pa.array([r.raw for r in rejects], pa.string()),
        ],
        schema=_QUARANTINE_SCHEMA,
    )


def _fingerprint(parts: list[dict[str, object]]) -> str:
    """One file: its SHA-256. A folder of parts: SHA-256 over the parts' names and digests."""
    if len(parts) == 1:
        return str(parts[0]["sha256"])
    lines = "".join(f"{p['source']}\t{p['sha256']}\n" for p in parts)
    return hashlib.sha256(lines.encode()).hexdigest()


def ingest(
    source: str | Path,
    contract: Contract,
    output_dir: str | Path,
    *,
    options: ReadOptions | None = None,
) -> IngestResult:
    """Read `source` (file, folder of parts, s3:// or gs:// URI) into `output_dir`.

    Writes records.parquet, ingest_quarantine.parquet and manifest.json (counts, fingerprints).
    """
    options = options or ReadOptions()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    files = resolve_sources(str(source), options.format)
    rows_out = quarantined = 0
    parts = []
    with (
        pq.ParquetWriter(output_dir / RECORDS_FILE, records_schema(contract)) as records,
        pq.ParquetWriter(output_dir / INGEST_QUARANTINE_FILE, _QUARANTINE_SCHEMA) as rejects,
    ):
        for file in files:
            kept = bad = 0
            for chunk in read_chunks(file, contract, options):
                records.write_table(chunk.table)
                rejects.write_table(_rejects_table(file.display, chunk.rejects))
                kept, bad = kept + chunk.table.num_rows, bad + len(chunk.rejects)
            log.info("%s: %d rows read, %d quarantined", file.display, kept, bad)
            parts.append(
                {
                    "source": file.display,
                    "format": file.format,
                    "sha256": file.sha256(),
                    "rows_in": kept + bad,
                    "rows_quarantined": bad,
                }
            )
            rows_out, quarantined = rows_out + kept, quarantined + bad
    if rows_out + quarantined == 0:
        raise RecordError("no data rows (empty, or a header only)", path=display_name(str(source)))
    write_json(
        output_dir / MANIFEST_FILE,
        {
            "contract": contract.name,
            "source": display_name(str(source)),
            "sources": parts,
            "source_sha256": _fingerprint(parts),
            "records_sha256": sha256_file(output_dir / RECORDS_FILE),
            "rows_in": rows_out + quarantined,
            "rows_out": rows_out,
            "rows_quarantined": quarantined,
            "columns": list(contract.columns),
            "encoding": options.encoding,
        },
    )
    return IngestResult(rows_out + quarantined, rows_out, quarantined, output_dir)
