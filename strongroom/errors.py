"""The exceptions a user sees. Messages name the file, row and column, never a raw value."""

from __future__ import annotations

import hashlib
import re


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


class TrainingInterrupted(StrongroomError):
    """Training was stopped by SIGTERM before its last step: state saved, nothing released."""


class GateError(StrongroomError):
    """A policy cannot be evaluated (missing fact, unknown operator)."""


# Helpers for building messages that can never carry a record's value (see records/readers.py,
# records/sources.py and config.py): a field is named only when it looks like a header name,
# otherwise it is located by position and, where the text is known to be a name, a short hash.
MESSAGE_LIMIT = 300  # characters in any one message built from input that the user supplied
_NAME_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_ ]{0,63}")


def capped(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` cut to `limit` characters, the cut marked: one message never grows with the input."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def looks_like_name(text: str) -> bool:
    """True for a short identifier-like name (letters, digits, _ and spaces, at most 64)."""
    return _NAME_LIKE.fullmatch(text) is not None


def short_hash(text: str) -> str:
    """First 8 hex digits of the SHA-256 of `text`: lets a user find a name without printing it."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def listed(items: list[str], most: int = 10) -> str:
    """A Python-style list of at most `most` items, then how many more: bounded in length."""
    shown = ", ".join(items[:most])
    more = f", ... {len(items) - most} more" if len(items) > most else ""
    return f"[{shown}{more}]"
