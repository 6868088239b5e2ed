"""Record contracts: what a table must look like and how each column is de-identified."""

from __future__ import annotations

import re
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from strongroom.config import load_yaml_model

ColumnType = Literal["string", "int", "float", "date", "datetime", "bool"]
_NUMBERS, _DATES = ("int", "float"), ("date", "datetime")
FormatName = Literal["icd10", "iso4217", "mcc", "iban", "pan", "email", "npi"]  # formats.FORMATS


class Treatment(StrEnum):
    """How the de-identification step handles a column (HIPAA Safe Harbor vocabulary)."""

    KEEP = "keep"  # not an identifier: passes through
    DROP = "drop"  # direct identifier: removed
    PSEUDONYMIZE = "pseudonymize"  # keyed HMAC: linkable inside the run, not reversible
    YEAR = "year"  # date -> year
    AGE_90 = "age_90"  # ages above 89 -> "90+"
    ZIP3 = "zip3"  # 5-digit ZIP -> first 3 digits, "000" for sparsely populated areas


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ColumnType = "string"
    nullable: bool = True
    treatment: Treatment = Treatment.KEEP
    free_text: bool = False  # scanned and redacted by Presidio
    min: float | None = None  # inclusive range for int/float columns
    max: float | None = None
    allowed: list[str] | None = None  # closed set of values
    pattern: str | None = None  # full-match regular expression on the text form; ASCII \d \w \s
    max_length: int | None = None  # characters, for strings
    format: FormatName | None = None  # a named format: regex, value set, check digits (formats.py)
    not_future: bool = False  # date / datetime columns: no value after the day of the run
    entity: str | None = None  # placeholder for its values in free text (PERSON -> <PERSON>)
    # Only meaningful for the privacy-unit column: identifiers are case-folded before
    # pseudonymisation (p0000001 and P0000001 are one person) unless this is true.
    case_sensitive: bool = False
    description: str = ""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        """A pattern that does not compile would silently check nothing: refused at load."""
        if pattern is not None:
            try:
                compile_pattern(pattern)
            except re.error as error:
                raise ValueError(
                    f"not a valid regular expression ({error.msg} at position {error.pos})"
                ) from None
        return pattern

    @model_validator(mode="after")
    def _check_kind(self) -> ColumnSpec:
        if self.not_future and self.type not in ("date", "datetime"):
            raise ValueError("not_future applies to date and datetime columns")
        if (self.min is not None or self.max is not None) and self.type not in ("int", "float"):
            raise ValueError("min / max apply to int and float columns")
        return self


# An inline flag group that turns on Unicode matching, e.g. (?u) or (?iu:...), whose "(" is not
# escaped (an even run of backslashes before it): in `\(?u` the "(" is optional and literal.
_ASKS_FOR_UNICODE = re.compile(r"(?<!\\)(?:\\\\)*\(\?[aiLmsux-]*u")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    r"""A contract `pattern` as validation applies it: `.search` matches the whole value, and
    \d, \w, \s are ASCII. Raises re.error for a pattern that does not compile.

    Python's \d and \w are Unicode by default, so `P\d{7}` would pass Arabic-Indic or full-width
    digits, and one identifier could enter in several spellings. A pattern that wants Unicode
    classes asks for them itself, e.g. `P(?u:\d){7}`. The anchors are the ones validation has
    always used, so a pattern is valid or invalid exactly as before.
    """
    flags = 0 if _ASKS_FOR_UNICODE.search(pattern) else re.ASCII
    return re.compile(f"^(?:{pattern})$", flags)


class PairCheck(BaseModel):
    """A row-level rule across two columns, e.g. discharge_date >= admit_date."""

    model_config = ConfigDict(extra="forbid")

    greater: str
    lesser: str
    or_equal: bool = True


class AgeCheck(BaseModel):
    """A row-level rule: the age column matches the years from birth_date to at (within tolerance)."""

    model_config = ConfigDict(extra="forbid")

    age: str
    birth_date: str
    at: str  # the date the age was recorded, e.g. admit_date
    tolerance_years: int = Field(default=1, ge=0)


class UserExpectation(BaseModel):
    """A Great Expectations row-level expectation added by the contract's author, e.g.
    `{type: expect_column_values_to_match_regex, kwargs: {column: memo, regex: '^[^<>]*$'}}`.
    Values are compared as text (records are carried as text until de-identification)."""

    model_config = ConfigDict(extra="forbid")

    type: str  # GX expectation name, snake_case
    kwargs: dict[str, Any] = Field(default_factory=dict)
    description: str = ""


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    privacy_unit: str  # the column naming the person: the unit of the DP guarantee
    # What one privacy unit is, declared (policies check this, never a column name): `person`
    # for a per-person guarantee; `account` or `record` are weaker and shipped policies refuse them.
    # No default: the data steward states it.
    unit_kind: Literal["person", "household", "account", "record"]
    unit_name: str = ""  # what a unit is called here (patient, customer); default: unit_kind
    primary_key: str  # unique per row
    columns: dict[str, ColumnSpec] = Field(min_length=1)
    pair_checks: list[PairCheck] = Field(default_factory=list)
    age_checks: list[AgeCheck] = Field(default_factory=list)
    expectations: list[UserExpectation] = Field(default_factory=list)
    max_quarantine_fraction: float = Field(default=0.05, ge=0.0, le=1.0)
    # Regions (ISO 3166 alpha-2: "PL", "SE") whose national phone formats the free text uses,
    # read beside the ones Presidio knows (US, UK, DE, IL, IN, CA, BR): "727 174 467" is a
    # Polish mobile number only to a reader that knows the notes come from Poland.
    phone_regions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_references(self) -> Contract:
        problems = []
        for field in ("privacy_unit", "primary_key"):
            if getattr(self, field) not in self.columns:
                problems.append(f"{field} {getattr(self, field)!r} is not a declared column")
        unit = self.columns.get(self.privacy_unit)
        if unit is not None and unit.treatment != Treatment.PSEUDONYMIZE:
            problems.append("the privacy_unit column must have treatment 'pseudonymize'")
        for i, check in enumerate(self.pair_checks):
            for side in (check.greater, check.lesser):
                if side not in self.columns:
                    problems.append(f"pair_checks.{i}: {side!r} is not a declared column")
        for i, age in enumerate(self.age_checks):
            for role, types in (("age", _NUMBERS), ("birth_date", _DATES), ("at", _DATES)):
                spec = self.columns.get(getattr(age, role))
                if spec is None:
                    problems.append(f"age_checks.{i}.{role}: not a declared column")
                elif spec.type not in types:
                    problems.append(f"age_checks.{i}.{role}: must be a column of type {types}")
        for i, user in enumerate(self.expectations):
            problems.extend(f"expectations.{i}: {p}" for p in check_user_expectation(user, self))
        problems.extend(_unknown_phone_regions(self.phone_regions))
        for name, spec in self.columns.items():
            if spec.free_text and spec.treatment not in (Treatment.KEEP, Treatment.DROP):
                problems.append(f"columns.{name}: free_text columns take treatment keep or drop")
        if problems:
            raise ValueError("\n".join(problems))  # one line each in the ConfigError
        if not self.unit_name:
            self.unit_name = self.unit_kind
        return self

    def identifier_columns(self) -> list[str]:
        """Columns whose raw values identify a person (dropped or pseudonymised)."""
        direct = (Treatment.DROP, Treatment.PSEUDONYMIZE)
        return [n for n, s in self.columns.items() if s.treatment in direct and not s.free_text]

    def free_text_columns(self) -> list[str]:
        return [n for n, s in self.columns.items() if s.free_text and s.treatment == "keep"]


def _unknown_phone_regions(regions: list[str]) -> list[str]:
    import phonenumbers

    return [
        f"phone_regions: {region!r} is no region libphonenumber knows (ISO 3166 alpha-2)"
        for region in regions
        if region not in phonenumbers.SUPPORTED_REGIONS
    ]


def check_user_expectation(user: UserExpectation, contract: Contract) -> list[str]:
    """Problems with a user expectation: unknown, not row-level, or bad arguments."""
    from strongroom.records.user_expectations import build_user_expectation

    try:
        build_user_expectation(user, list(contract.columns))
    except ValueError as error:
        return [str(error)]
    return []


BUILTIN_CONTRACTS = ("hospital_encounters", "bank_transactions")


def load_contract(name_or_path: str | Path) -> Contract:
    """Load a contract by built-in name (`hospital_encounters`) or by YAML path."""
    if str(name_or_path) in BUILTIN_CONTRACTS:
        ref = resources.files("strongroom.governance") / "contracts" / f"{name_or_path}.yaml"
        with resources.as_file(ref) as path:
            return load_yaml_model(path, Contract)
    return load_yaml_model(name_or_path, Contract)
