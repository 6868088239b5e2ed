"""The contract's pair checks (`greater >= lesser`) as rules the guided decoder can hold, byte by byte.

Validation compares two released columns of text type (string, date, datetime: released years,
ISO dates) as text (records/expectations.py row_checks: no typed shadow for strings; ISO dates
order as their text does). The column written second in a record is held against the value
already written: a byte is taken only while some completion can still satisfy the rule, and the
value ends only when it does. Numeric pairs are not held here (left to the model and validation).
Tests: tests/synthesis/test_pairs.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.records.contract import Contract

TEXT_ORDERED = ("string", "date", "datetime")


@dataclass(frozen=True)
class Order:
    """This column's value against an earlier column's value in the same record."""

    other: int  # index of the earlier column in the record's column order
    above: bool  # True: this >= other (this is the pair's `greater`); False: this <= other
    strict: bool  # the pair is not or_equal


def order_rules(released: Contract, columns: list[str]) -> dict[int, list[Order]]:
    """Column index -> the rules its value is held to (text-ordered pairs of text columns)."""
    index = {name: i for i, name in enumerate(columns)}
    out: dict[int, list[Order]] = {}
    for pair in released.pair_checks:
        greater, lesser = index.get(pair.greater), index.get(pair.lesser)
        if greater is None or lesser is None:
            continue
        types = {released.columns[pair.greater].type, released.columns[pair.lesser].type}
        if not types <= set(TEXT_ORDERED):
            continue
        later, earlier = max(greater, lesser), min(greater, lesser)
        rule = Order(earlier, above=later == greater, strict=not pair.or_equal)
        out.setdefault(later, []).append(rule)
    return out


def can_reach(prefix: str, other: str, rule: Order) -> bool:
    """Whether a value starting with `prefix` may still satisfy the rule against `other`.
    Lenient where only the completion decides (prefix is a prefix of other): `holds` decides at
    the value's end."""
    n = min(len(prefix), len(other))
    if prefix[:n] != other[:n]:
        return (prefix[:n] > other[:n]) == rule.above
    if len(prefix) > len(other):  # other is a proper prefix: this orders after it
        return rule.above
    return True


def holds(value: str, other: str, rule: Order) -> bool:
    if value == other:
        return not rule.strict
    return (value > other) == rule.above
