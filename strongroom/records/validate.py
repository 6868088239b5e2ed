"""Validate: the contract's Great Expectations suite over ingested records, in chunks.

Row-level Great Expectations (types, nulls, ranges, sets, formats, dates not in the future, cross-column
order, age against date of birth, the contract's own expectations) send failing rows to a
quarantine file with the reasons; table-level expectations (row count, unique key) fail the step.
Counts reconcile exactly: rows_in == rows_ok + rows_quarantined.

Memory: one chunk of rows (`chunk_rows`) plus 8 bytes a row for the primary key's hashes (16
while they are joined and sorted at the end).

GX returns unexpected values in its results by default. We read only row positions out of them,
inside this function; reports hold counts and names, never a value.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from strongroom.errors import ValidationFailed
from strongroom.records.contract import Contract
from strongroom.records.expectations import Check, row_checks, validation_frame
from strongroom.records.io import strings_frame, write_json
from strongroom.records.readers import LINE, SOURCE
from strongroom.records.report import render_validation_html
from strongroom.run_record.reports import ValidationReport

log = logging.getLogger(__name__)
VALIDATED_FILE = "validated.parquet"
QUARANTINE_FILE = "quarantine.parquet"
REPORT_JSON = ValidationReport.FILE  # the typed report owns its name
REPORT_HTML = "validation_report.html"
REASONS = "__reasons__"
_ROW = "__row__"  # position in the chunk: the only thing read back from GX results
CHUNK_ROWS = 5000


@dataclass(frozen=True)
class ValidationResult:
    rows_in: int
    rows_ok: int
    rows_quarantined: int
    success: bool
    report: dict[str, Any]


class SuiteRunner:
    """One ephemeral GX context and validation definition, run on chunk after chunk."""

    def __init__(self, checks: list[Check], name: str) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        batch = (
            context.data_sources.add_pandas(name)
            .add_dataframe_asset(name)
            .add_batch_definition_whole_dataframe("all")
        )
        suite = context.suites.add(gx.ExpectationSuite(name=name))
        for check in checks:
            suite.add_expectation(check.expectation)
        self.by_id = {check.expectation.id: check for check in checks}  # ids set by the suite
        self.definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )

    def run(self, frame: pd.DataFrame) -> list[tuple[Check, int, list[int]]]:
        """(check, unexpected count, failing row positions) for every check."""
        result = self.definition.run(
            batch_parameters={"dataframe": frame},
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": [_ROW],
                "partial_unexpected_count": 0,
                "include_unexpected_rows": False,
                "return_unexpected_index_query": False,
            },
        )
        out = []
        for item in result.results:
            if item.exception_info and item.exception_info.get("raised_exception"):
                raise ValidationFailed(
                    f"expectation could not run: {self.by_id[item.expectation_config.id].label}"
                )
            found = item.result or {}
            rows = [int(r[_ROW]) for r in found.get("unexpected_index_list") or []]
            unexpected = int(found.get("unexpected_count") or (0 if item.success else 1))
            out.append((self.by_id[item.expectation_config.id], unexpected, rows))
        return out


def _key_hashes(keys: pd.Series) -> np.ndarray:
    """64-bit hashes of the non-null primary keys: uniqueness in 8 bytes a row."""
    present = keys.dropna()
    return pd.util.hash_array(present.to_numpy(dtype=object)).astype(np.uint64)


def rows_sharing_a_key(hashes: np.ndarray) -> int:
    """How many rows have a key that another row has too (sorts `hashes` in place)."""
    hashes.sort()
    same = hashes[1:] == hashes[:-1]  # [n - 1]: neighbour equal after sorting
    shared = np.zeros(len(hashes), dtype=bool)
    shared[1:] |= same
    shared[:-1] |= same
    return int(shared.sum())


class _Writers:
    """Validated rows (contract columns) and quarantined rows (+ source, line, reasons)."""

    def __init__(self, contract: Contract, output_dir: Path) -> None:
        text = [(name, pa.string()) for name in contract.columns]
        self.columns = list(contract.columns)
        self.ok = pq.ParquetWriter(output_dir / VALIDATED_FILE, pa.schema(text))
        quarantine = [*text, (SOURCE, pa.string()), (LINE, pa.int64()), (REASONS, pa.string())]
        self.bad = pq.ParquetWriter(output_dir / QUARANTINE_FILE, pa.schema(quarantine))

    def write(self, chunk: pa.Table, reasons: dict[int, list[str]]) -> None:
        bad = np.zeros(chunk.num_rows, dtype=bool)
        bad[list(reasons)] = True
        self.ok.write_table(chunk.filter(pa.array(~bad)).select(self.columns))
        rows = sorted(reasons)
        quarantined = chunk.take(pa.array(rows, pa.int64())).select([*self.columns, SOURCE, LINE])
        labels = pa.array(["; ".join(reasons[r]) for r in rows], pa.string())
        self.bad.write_table(quarantined.append_column(REASONS, labels))

    def close(self) -> None:
        self.ok.close()
        self.bad.close()


def validate(
    records_path: str | Path,
    contract: Contract,
    output_dir: str | Path,
    *,
    chunk_rows: int = CHUNK_ROWS,
    today: date | None = None,
) -> ValidationResult:
    """Validate ingested records; write validated rows, quarantine and a values-free report."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    checks = row_checks(contract, today or date.today())
    runner = SuiteRunner(checks, "rows")
    unexpected: dict[str, int] = defaultdict(int)
    hashes, rows_in, rows_bad = [], 0, 0
    writers = _Writers(contract, output_dir)
    try:
        for batch in pq.ParquetFile(records_path, pre_buffer=False).iter_batches(
            batch_size=chunk_rows
        ):
            chunk = pa.Table.from_batches([batch])
            records = strings_frame(chunk.select(list(contract.columns)))
            frame = validation_frame(records, contract).assign(**{_ROW: range(len(records))})
            reasons: dict[int, list[str]] = defaultdict(list)
            for check, count, rows in runner.run(frame):
                unexpected[check.label] += count
                for row in rows:
                    reasons[row].append(check.label)
            writers.write(chunk, reasons)
            hashes.append(_key_hashes(records[contract.primary_key]))
            rows_in, rows_bad = rows_in + len(records), rows_bad + len(reasons)
            log.info("validated %d rows, %d quarantined so far", rows_in, rows_bad)
    finally:
        writers.close()
    table_failures = _table_failures(hashes, contract.primary_key, rows_in)
    report = _report(contract, rows_in, rows_bad, checks, unexpected, table_failures)
    write_json(output_dir / REPORT_JSON, report)
    (output_dir / REPORT_HTML).write_text(render_validation_html(report))
    _raise_if_failed(report)
    return ValidationResult(rows_in, rows_in - rows_bad, rows_bad, True, report)


def _table_failures(hashes: list[np.ndarray], key: str, rows_in: int) -> list[dict[str, Any]]:
    """Whole-table checks, over the key hashes gathered chunk by chunk.

    Not run through GX: its uniqueness check needs the whole column in a DataFrame (about 100
    bytes a row at its peak); sorting 64-bit hashes needs 8 (two rows share a hash by chance with
    probability about n^2 / 2^65: 1e-10 for a million rows).
    """
    failures = []
    if rows_in == 0:
        failures.append({"expectation": "table_has_rows", "unexpected": 0})
    shared = rows_sharing_a_key(np.concatenate(hashes) if hashes else np.empty(0, np.uint64))
    if shared:
        failures.append({"expectation": f"unique_key({key})", "unexpected": shared})
    return failures


def _report(
    contract: Contract,
    rows_in: int,
    rows_bad: int,
    checks: list[Check],
    unexpected: dict[str, int],
    table_failures: list[dict[str, Any]],
) -> dict[str, Any]:
    fraction = rows_bad / max(rows_in, 1)
    labels = list(dict.fromkeys(check.label for check in checks))  # suite order, once each
    return {
        "contract": contract.name,
        "rows_in": rows_in,
        "rows_ok": rows_in - rows_bad,
        "rows_quarantined": rows_bad,
        "quarantine_fraction": round(fraction, 6),
        "max_quarantine_fraction": contract.max_quarantine_fraction,
        "table_failures": table_failures,
        "success": not table_failures and fraction <= contract.max_quarantine_fraction,
        "expectations": [
            {
                "expectation": label,
                "success": not unexpected[label],
                "unexpected": unexpected[label],
            }
            for label in labels
        ],
    }


def _raise_if_failed(report: dict[str, Any]) -> None:
    if report["table_failures"]:
        failed = [f"{f['expectation']}: {f['unexpected']} rows" for f in report["table_failures"]]
        # e.g. ['unique_key(encounter_id): 4 rows'] (rows that share their key with another)
        raise ValidationFailed(f"table-level expectations failed: {failed}")
    if not report["success"]:
        raise ValidationFailed(
            f"{report['rows_quarantined']} of {report['rows_in']} rows quarantined "
            f"({report['quarantine_fraction']:.1%}), more than the contract allows "
            f"({report['max_quarantine_fraction']:.1%}); see {QUARANTINE_FILE}"
        )
