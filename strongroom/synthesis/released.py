"""The contract of released records: what de-identification leaves, as the model learnt it.

A synthetic record is in the form the model was trained on (corpus/build.py: the text columns,
generalised), not the raw intake form: a birth date is a year, an age above 89 is "90+", a ZIP
is three digits. Validating it against the intake contract would fail every generalised column
for the wrong reason. So the intake contract is rewritten into the released one, and the records
package's own Great Expectations suite (records/expectations.py, records/validate.py) runs on it:
the checks are the contract's, only the value domains of generalised columns change.

What cannot be carried over is listed (`not_checked`) and reported: age checks need full dates.
The privacy unit and primary key become synthetic ids (`syn-…`): pseudonyms are not in the text,
and a synthetic person must not borrow a real one's.
Tests: tests/synthesis/test_grammar.py, test_pairs.py, test_ranges.py.
"""

from __future__ import annotations

from datetime import date

import regex

from strongroom.corpus.build import text_columns
from strongroom.deid.very_old import AGGREGATED, OLDEST_SHOWN
from strongroom.records.contract import ColumnSpec, Contract, Treatment, UserExpectation
from strongroom.records.formats import FORMATS
from strongroom.synthesis.ranges import date_pattern, datetime_pattern, float_range, int_range

# What generalisation leaves (deid/deidentify.py generalize, deid/very_old.py aggregate_years)
_AGGREGATED = regex.escape(AGGREGATED)
GENERALISED_PATTERN = {
    Treatment.YEAR: rf"\d{{4}}|{_AGGREGATED}",
    Treatment.AGE_90: rf"\d|[1-{OLDEST_SHOWN // 10 - 1}]\d|{OLDEST_SHOWN // 10}[0-{OLDEST_SHOWN % 10}]|{_AGGREGATED}",
    Treatment.ZIP3: r"\d{3}",
}
FREE_TEXT_CAP = 2000  # longest value the guided decoder lets a string column run to (bytes)


def _released_spec(spec: ColumnSpec) -> ColumnSpec:
    if spec.treatment in GENERALISED_PATTERN:
        # text now: a year and "90+" side by side; 4-digit years still order as text
        return ColumnSpec(
            type="string",
            nullable=spec.nullable,
            pattern=GENERALISED_PATTERN[spec.treatment],
            description=f"{spec.treatment.value} of the intake column",
        )
    return spec.model_copy(update={"treatment": Treatment.KEEP, "entity": None})


def _columns_of(user: UserExpectation) -> set[str]:
    kwargs = user.kwargs
    named = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    return {*named, *kwargs.get("column_list", [])}


def released_contract(contract: Contract) -> Contract:
    """The contract synthetic records are validated against (see the module docstring)."""
    columns = text_columns(contract)
    released = {name: _released_spec(contract.columns[name]) for name in columns}
    ids = {
        contract.privacy_unit: ColumnSpec(nullable=False, treatment=Treatment.PSEUDONYMIZE),
        contract.primary_key: ColumnSpec(nullable=False, treatment=Treatment.PSEUDONYMIZE),
    }
    kept = set(columns)
    return Contract(
        name=f"{contract.name}.released",
        description=f"{contract.name} as de-identification releases it (synthetic records)",
        privacy_unit=contract.privacy_unit,
        unit_kind=contract.unit_kind,
        unit_name=contract.unit_name,
        primary_key=contract.primary_key,
        columns={**ids, **released},
        pair_checks=[p for p in contract.pair_checks if {p.greater, p.lesser} <= kept],
        expectations=[u for u in contract.expectations if _columns_of(u) <= kept],
        max_quarantine_fraction=1.0,  # shares are reported, never a reason to stop
    )


def not_checked(contract: Contract) -> list[str]:
    """The intake contract's checks that have no released counterpart (for the report)."""
    kept = set(text_columns(contract))
    out = [f"age_checks.{i} (dates generalised to years)" for i in range(len(contract.age_checks))]
    out += [
        f"pair_checks.{i} (a column is not released)"
        for i, p in enumerate(contract.pair_checks)
        if not {p.greater, p.lesser} <= kept
    ]
    out += [
        f"expectations.{i} (a column is not released)"
        for i, u in enumerate(contract.expectations)
        if not _columns_of(u) <= kept
    ]
    for name in contract.columns:
        spec = contract.columns[name]
        if name in kept and spec.not_future and spec.treatment in GENERALISED_PATTERN:
            out.append(f"not_in_future({name}) (a year, checked as text)")
    return out


def _typed_shape(spec: ColumnSpec) -> str | None:
    """The type's form with what the contract states about it: a numeric range, calendar dates
    (not after this year for a not_future column: a later day of this year is left to
    validation)."""
    last_year = date.today().year if spec.not_future else None
    if spec.type == "int":
        return int_range(spec.min, spec.max)
    if spec.type == "float":
        return float_range(spec.min, spec.max)
    if spec.type == "date":
        return date_pattern(last_year)
    if spec.type == "datetime":
        return datetime_pattern(last_year)
    if spec.type == "bool":
        return "true|false"
    return None


def value_shape(spec: ColumnSpec) -> str:
    """A regular expression for a released column's values, what the guided decoder holds a
    value to: the allowed set, the pattern or named format, else the type's form with its range
    (ranges.py), else any text without control characters up to the column's max_length.
    Cross-column rules are grammar.py's; check digits and user expectations are left to the
    model (and to validation)."""
    if spec.allowed is not None:
        return "|".join(regex.escape(v) for v in spec.allowed)
    if spec.pattern is not None:
        return spec.pattern
    if spec.format is not None:
        fmt = FORMATS[spec.format]
        if fmt.allowed is not None and len(fmt.allowed) <= 1000:
            return "|".join(regex.escape(v) for v in sorted(fmt.allowed))
        return fmt.regex
    typed = _typed_shape(spec)
    if typed is not None:
        return typed
    cap = min(spec.max_length or FREE_TEXT_CAP, FREE_TEXT_CAP)
    return rf"[^\x00-\x08\x0a-\x1f\x7f]{{1,{cap}}}"


def compile_shape(shape: str) -> regex.Pattern[str]:
    """ASCII classes, as the contract's patterns are applied (records/contract.compile_pattern)."""
    return regex.compile(f"(?:{shape})", regex.ASCII | regex.V0)
