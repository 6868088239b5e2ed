"""The Great Expectations suite a contract implies, and the frame it runs on.

Records arrive as text. For each numeric or date column the frame gets a typed shadow column
(`age__typed`), for check-digit formats a boolean one (`iban__checksum`), for contract patterns
another (`mrn__pattern`), for age checks the gap in years (`age__age_gap`): GX's built-in
expectations then do every check, and a failing row is reported under the user's column name.

Every check here is row-level: its failing rows go to quarantine. The table-level checks (rows
present, unique key) are in validate.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from strongroom.records.contract import ColumnSpec, Contract, compile_pattern
from strongroom.records.formats import FORMATS
from strongroom.records.user_expectations import build_user_expectation

_TYPE_REGEX = {
    "int": r"^[+-]?\d+$",
    "float": r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$",  # rejects nan and inf
    "bool": r"^(true|false|True|False|0|1)$",
}
STRFTIME = {"date": "%Y-%m-%d", "datetime": "%Y-%m-%dT%H:%M:%S"}
# Control characters other than tab, newline, carriage return: corrupt extracts or injected bytes.
_NO_CONTROL = "^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_SHADOW = re.compile(r"__(typed|checksum|pattern|age_gap)$")


@dataclass(frozen=True)
class Check:
    expectation: Any  # a gx.expectations.Expectation
    label: (
        str  # what reports and quarantine reasons say, e.g. expect_column_values_to_be_between(age)
    )


def typed(name: str) -> str:
    return f"{name}__typed"


def _pattern(spec: ColumnSpec) -> re.Pattern[str] | None:
    """The column's contract pattern, compiled with ASCII classes; None if it has none or it
    does not compile (then the check is left to GX, which reports it failed, as it always has).

    Why not hand GX the regex with (?a): pandas runs str.contains with pyarrow's RE2 on all-ASCII
    text, and RE2 rejects (?a), so every pattern check would fail on clean data. The match is
    done here, in Python's re, whatever text the column holds."""
    if spec.pattern is None:
        return None
    try:
        return compile_pattern(spec.pattern)
    except re.error:
        return None


def _label(expectation: Any) -> str:
    kwargs = expectation.configuration.kwargs
    columns = kwargs.get("column_list") or [
        kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs
    ]
    names = ",".join(_SHADOW.sub("", c) for c in columns)
    return f"{expectation.expectation_type}({names})"


def _years_between(birth: pd.Series, at: pd.Series) -> pd.Series:
    before_birthday = (at.dt.month < birth.dt.month) | (
        (at.dt.month == birth.dt.month) & (at.dt.day < birth.dt.day)
    )
    return at.dt.year - birth.dt.year - before_birthday.astype("Int64")


def validation_frame(records: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """The records (text) plus the shadow columns the suite's expectations read."""
    frame = records.copy()
    for name, spec in contract.columns.items():
        if spec.type in ("int", "float"):
            frame[typed(name)] = pd.to_numeric(frame[name], errors="coerce")
        elif spec.type in STRFTIME:
            frame[typed(name)] = pd.to_datetime(
                frame[name], format=STRFTIME[spec.type], errors="coerce"
            )
        if (pattern := _pattern(spec)) is not None:
            frame[f"{name}__pattern"] = [
                None if v is None else pattern.search(v) is not None for v in frame[name]
            ]
        fmt = FORMATS[spec.format] if spec.format else None
        if fmt is not None and fmt.checksum is not None:
            check = fmt.checksum
            frame[f"{name}__checksum"] = [
                None if v is None else bool(re.fullmatch(fmt.regex, v)) and check(v)
                for v in frame[name]
            ]
    for rule in contract.age_checks:
        years = _years_between(frame[typed(rule.birth_date)], frame[typed(rule.at)])
        frame[f"{rule.age}__age_gap"] = (frame[typed(rule.age)] - years).astype("Float64")
    return frame


def _check(expectation: Any, label: str | None = None) -> Check:
    return Check(expectation, label or _label(expectation))


def _format_checks(name: str, spec: ColumnSpec) -> list[Check]:
    import great_expectations as gx

    ex, fmt = gx.expectations, FORMATS[spec.format or ""]
    regex = ex.ExpectColumnValuesToMatchRegex(column=name, regex=f"^(?:{fmt.regex})$")
    out = [_check(regex, f"format_{fmt.name}({name})")]
    if fmt.allowed is not None:
        members = ex.ExpectColumnValuesToBeInSet(column=name, value_set=sorted(fmt.allowed))
        out.append(_check(members, f"format_{fmt.name}_known_value({name})"))
    if fmt.checksum is not None:
        digits = ex.ExpectColumnValuesToBeInSet(column=f"{name}__checksum", value_set=[True])
        out.append(_check(digits, f"format_{fmt.name}_check_digits({name})"))
    return out


def column_checks(name: str, spec: ColumnSpec, today: date) -> list[Check]:
    import great_expectations as gx

    ex = gx.expectations
    control = ex.ExpectColumnValuesToMatchRegex(column=name, regex=_NO_CONTROL)
    out = [_check(control, f"no_control_characters({name})")]
    if not spec.nullable:
        out.append(_check(ex.ExpectColumnValuesToNotBeNull(column=name)))
    if spec.type in _TYPE_REGEX:
        kind = ex.ExpectColumnValuesToMatchRegex(column=name, regex=_TYPE_REGEX[spec.type])
        out.append(_check(kind, f"type_{spec.type}({name})"))
    if spec.type in STRFTIME:
        fmt = STRFTIME[spec.type]
        out.append(
            _check(ex.ExpectColumnValuesToMatchStrftimeFormat(column=name, strftime_format=fmt))
        )
    if spec.not_future:
        end = datetime.combine(today, datetime.max.time())
        future = ex.ExpectColumnValuesToBeBetween(column=typed(name), max_value=end)
        out.append(_check(future, f"not_in_future({name})"))
    if spec.min is not None or spec.max is not None:
        between = ex.ExpectColumnValuesToBeBetween(
            column=typed(name), min_value=spec.min, max_value=spec.max
        )
        out.append(_check(between))
    if spec.allowed is not None:
        out.append(_check(ex.ExpectColumnValuesToBeInSet(column=name, value_set=spec.allowed)))
    if _pattern(spec) is not None:  # ASCII \d: P\d{7} must not pass Arabic-Indic digits
        matched = ex.ExpectColumnValuesToBeInSet(column=f"{name}__pattern", value_set=[True])
        out.append(_check(matched, f"pattern({name})"))
    elif spec.pattern is not None:  # does not compile: GX fails the check, as before
        regex = ex.ExpectColumnValuesToMatchRegex(column=name, regex=f"^(?:{spec.pattern})$")
        out.append(_check(regex, f"pattern({name})"))
    if spec.format is not None:
        out.extend(_format_checks(name, spec))
    if spec.max_length is not None:
        length = ex.ExpectColumnValueLengthsToBeBetween(column=name, max_value=spec.max_length)
        out.append(_check(length))
    return out


def _shadowed(contract: Contract, name: str) -> str:
    return typed(name) if contract.columns[name].type not in ("string", "bool") else name


def row_checks(contract: Contract, today: date) -> list[Check]:
    """Every row-level check the contract implies, user expectations last."""
    import great_expectations as gx

    ex = gx.expectations
    found: list[Check] = []
    for name, spec in contract.columns.items():
        found.extend(column_checks(name, spec, today))
    for pair in contract.pair_checks:
        found.append(
            _check(
                ex.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=_shadowed(contract, pair.greater),
                    column_B=_shadowed(contract, pair.lesser),
                    or_equal=pair.or_equal,
                    ignore_row_if="either_value_is_missing",
                )
            )
        )
    for rule in contract.age_checks:
        gap = rule.tolerance_years
        between = ex.ExpectColumnValuesToBeBetween(
            column=f"{rule.age}__age_gap", min_value=-gap, max_value=gap
        )
        found.append(_check(between, f"age_matches_{rule.birth_date}({rule.age})"))
    for i, user in enumerate(contract.expectations):
        built = build_user_expectation(user, list(contract.columns))
        found.append(_check(built, f"contract_expectation_{i}:{_label(built)}"))
    return found
