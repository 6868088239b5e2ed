"""The exceptions a user sees. Messages name the file, row and column, never a raw value."""

from __future__ import annotations


class StrongroomError(Exception):
    """Base of every error strongroom raises on purpose."""


class ConfigError(StrongroomError):
    """A config or contract file is invalid; the message lists every problem at once."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


class RecordError(StrongroomError):
    """Input records cannot be read or do not fit the contract."""

    def __init__(
        self, message: str, *, path: str, row: int | None = None, column: str | None = None
    ) -> None:
        self.path, self.row, self.column = path, row, column
        where = path
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


class ValidationFailed(StrongroomError):
    """Table-level expectations failed, or too many rows were quarantined."""


class PrivacyBudgetError(StrongroomError):
    """A plan or a training run would spend more privacy budget than allowed."""


class GateError(StrongroomError):
    """A policy cannot be evaluated (missing fact, unknown operator)."""
