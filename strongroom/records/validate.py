"""Validate: Great Expectations 1.x suite derived from the contract; bad rows quarantined.

Row-level expectations (types, nulls, ranges, sets, patterns, cross-column order) send failing rows
to a quarantine file with the reasons; table-level expectations (row count, unique key) fail the
step. Counts reconcile exactly: rows_in == rows_ok + rows_quarantined.

GX returns unexpected values in its results by default. We read only row numbers out of them,
inside this function, and the report holds counts alone: no raw value leaves this step.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from strongroom.errors import ValidationFailed
from strongroom.records.contract import ColumnSpec, Contract
from strongroom.records.io import read_strings, write_json, write_strings
from strongroom.records.report import render_validation_html

VALIDATED_FILE = "validated.parquet"
QUARANTINE_FILE = "quarantine.parquet"
REPORT_JSON = "validation_report.json"
REPORT_HTML = "validation_report.html"
ROW = "__row__"  # row number in the ingested table, the only thing read back from GX results

_TYPE_FORMATS = {
    "int": r"^[+-]?\d+$",
    "float": r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$",  # rejects nan, inf
    "bool": r"^(true|false|True|False|0|1)$",
}
_STRFTIME = {"date": "%Y-%m-%d", "datetime": "%Y-%m-%dT%H:%M:%S"}


@dataclass(frozen=True)
class ValidationResult:
    rows_in: int
    rows_ok: int
    rows_quarantined: int
    success: bool
    report: dict[str, Any]


def _typed(name: str) -> str:
    return f"{name}__typed"


def _validation_frame(records: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Raw text columns plus a typed shadow for every numeric or date column."""
    frame = records.copy()
    frame[ROW] = range(len(frame))
    for name, spec in contract.columns.items():
        if spec.type in ("int", "float"):
            frame[_typed(name)] = pd.to_numeric(frame[name], errors="coerce")
        elif spec.type in _STRFTIME:
            frame[_typed(name)] = pd.to_datetime(
                frame[name], format=_STRFTIME[spec.type], errors="coerce"
            )
    return frame


def _column_expectations(name: str, spec: ColumnSpec) -> list[Any]:
    import great_expectations as gx

    ex = gx.expectations
    out: list[Any] = []
    if not spec.nullable:
        out.append(ex.ExpectColumnValuesToNotBeNull(column=name))
    if spec.type in _TYPE_FORMATS:
        out.append(ex.ExpectColumnValuesToMatchRegex(column=name, regex=_TYPE_FORMATS[spec.type]))
    if spec.type in _STRFTIME:
        fmt = _STRFTIME[spec.type]
        out.append(ex.ExpectColumnValuesToMatchStrftimeFormat(column=name, strftime_format=fmt))
    if spec.min is not None or spec.max is not None:
        out.append(
            ex.ExpectColumnValuesToBeBetween(
                column=_typed(name), min_value=spec.min, max_value=spec.max
            )
        )
    if spec.allowed is not None:
        out.append(ex.ExpectColumnValuesToBeInSet(column=name, value_set=spec.allowed))
    if spec.pattern is not None:
        out.append(ex.ExpectColumnValuesToMatchRegex(column=name, regex=f"^(?:{spec.pattern})$"))
    if spec.max_length is not None:
        out.append(ex.ExpectColumnValueLengthsToBeBetween(column=name, max_value=spec.max_length))
    return out


def build_suite(contract: Contract) -> tuple[list[Any], list[Any]]:
    """(row-level, table-level) expectations derived from the contract."""
    import great_expectations as gx

    ex = gx.expectations
    rows: list[Any] = []
    for name, spec in contract.columns.items():
        rows.extend(_column_expectations(name, spec))
    for check in contract.pair_checks:
        rows.append(
            ex.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=_typed(check.greater)
                if _has_shadow(contract, check.greater)
                else check.greater,
                column_B=_typed(check.lesser)
                if _has_shadow(contract, check.lesser)
                else check.lesser,
                or_equal=check.or_equal,
                ignore_row_if="either_value_is_missing",
            )
        )
    table = [
        ex.ExpectTableRowCountToBeBetween(min_value=1),
        ex.ExpectColumnValuesToBeUnique(column=contract.primary_key),
    ]
    return rows, table


def _has_shadow(contract: Contract, name: str) -> bool:
    return contract.columns[name].type in ("int", "float", "date", "datetime")


def _describe(config: Any) -> str:
    kwargs = config.kwargs
    column = kwargs.get("column") or f"{kwargs.get('column_A')},{kwargs.get('column_B')}"
    return f"{config.type}({column.replace('__typed', '')})"  # name the user's column


def _run_gx(frame: pd.DataFrame, expectations: list[Any]) -> list[Any]:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("records")
        .add_dataframe_asset("records")
        .add_batch_definition_whole_dataframe("all")
    )
    suite = context.suites.add(gx.ExpectationSuite(name="contract"))
    for expectation in expectations:
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="contract", data=batch, suite=suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": [ROW],
            "partial_unexpected_count": 0,
            "include_unexpected_rows": False,
            "return_unexpected_index_query": False,
        },
    )
    return list(result.results)


def _bad_rows(result: Any) -> list[int]:
    return [int(item[ROW]) for item in result.result.get("unexpected_index_list") or []]


def validate(
    records_path: str | Path, contract: Contract, output_dir: str | Path
) -> ValidationResult:
    """Validate ingested records; write validated rows, quarantine and a values-free report."""
    output_dir = Path(output_dir)
    records = read_strings(records_path)
    row_level, table_level = build_suite(contract)
    results = _run_gx(_validation_frame(records, contract), row_level + table_level)
    table_ids = {e.id for e in table_level}  # ids set when the suite took them
    reasons: dict[int, list[str]] = defaultdict(list)
    summary, table_failures = [], []
    for result in results:  # GX does not keep the suite's order
        described = _describe(result.expectation_config)
        unexpected = int(result.result.get("unexpected_count") or 0)
        summary.append(
            {"expectation": described, "success": bool(result.success), "unexpected": unexpected}
        )
        if result.success:
            continue
        if result.expectation_config.id in table_ids:
            table_failures.append(described)
        else:
            for row in _bad_rows(result):
                reasons[row].append(described)
    bad = sorted(reasons)
    quarantine = records.iloc[bad].copy()
    quarantine["__line__"] = [str(r + 2) for r in bad]  # 1-based CSV line, after the header
    quarantine["__reasons__"] = ["; ".join(reasons[r]) for r in bad]
    validated = records.drop(index=records.index[bad])
    output_dir.mkdir(parents=True, exist_ok=True)
    write_strings(validated, output_dir / VALIDATED_FILE)
    write_strings(quarantine, output_dir / QUARANTINE_FILE)
    fraction = len(bad) / max(len(records), 1)
    too_many = fraction > contract.max_quarantine_fraction
    report = {
        "contract": contract.name,
        "rows_in": len(records),
        "rows_ok": len(validated),
        "rows_quarantined": len(bad),
        "quarantine_fraction": round(fraction, 6),
        "max_quarantine_fraction": contract.max_quarantine_fraction,
        "table_failures": table_failures,
        "success": not table_failures and not too_many,
        "expectations": summary,
    }
    write_json(output_dir / REPORT_JSON, report)
    (output_dir / REPORT_HTML).write_text(render_validation_html(report))
    if table_failures:
        raise ValidationFailed(f"table-level expectations failed: {table_failures}")
    if too_many:
        raise ValidationFailed(
            f"{len(bad)} of {len(records)} rows quarantined ({fraction:.1%}), more than the "
            f"contract allows ({contract.max_quarantine_fraction:.1%}); see {QUARANTINE_FILE}"
        )
    return ValidationResult(len(records), len(validated), len(bad), True, report)
