"""A contract's own Great Expectations expectations, built from their names and arguments.

Apart from ``expectations.py`` so that the contract can check them when it loads without
importing the suite builder, which imports the contract (no import circle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from strongroom.records.contract import UserExpectation


def _class_name(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def build_user_expectation(user: UserExpectation, columns: list[str]) -> Any:
    """The GX expectation a contract names; ValueError if unknown, not row-level, or misused.

    Only row-level (map) expectations are allowed: validation streams the table in chunks, so an
    aggregate such as a column mean would be computed per chunk, which would be wrong.
    """
    import great_expectations as gx
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )

    cls = getattr(gx.expectations, _class_name(user.type), None)
    if cls is None:
        raise ValueError(f"unknown Great Expectations expectation {user.type!r}")
    row_level = (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
    if not issubclass(cls, row_level):
        raise ValueError(f"{user.type} is not a row-level (map) expectation")
    kwargs = user.kwargs
    named = kwargs.get("column_list") or [
        kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs
    ]
    if unknown := [c for c in named if c not in columns]:
        raise ValueError(f"{user.type}: column(s) {unknown} not in the contract")
    try:
        return cls(**kwargs)
    except ValueError as error:  # pydantic: names the bad argument
        raise ValueError(f"{user.type}: {error}".replace("\n", " ")) from None
