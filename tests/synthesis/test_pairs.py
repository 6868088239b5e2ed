"""Pair checks held while a value is written: a prefix goes on only if it can still satisfy the
rule, and the value ends only where it does (text order, as validation compares)."""

from __future__ import annotations

from strongroom.corpus.build import text_columns
from strongroom.synthesis.pairs import Order, can_reach, holds, order_rules
from strongroom.synthesis.released import released_contract


def test_the_hospital_discharge_year_is_held_against_the_admission_year(contract) -> None:
    columns = text_columns(contract)
    rules = order_rules(released_contract(contract), columns)
    admit, discharge = columns.index("admit_date"), columns.index("discharge_date")
    assert rules == {discharge: [Order(admit, above=True, strict=False)]}


def test_prefixes_and_values_against_an_earlier_value() -> None:
    at_least = Order(0, above=True, strict=False)
    assert can_reach("202", "2020", at_least) and can_reach("203", "2020", at_least)
    assert not can_reach("201", "2020", at_least)
    assert holds("2020", "2020", at_least) and holds("2021", "2020", at_least)
    assert not holds("2019", "2020", at_least)
    at_most_strictly = Order(0, above=False, strict=True)
    assert can_reach("201", "2020", at_most_strictly) and not can_reach(
        "203", "2020", at_most_strictly
    )
    assert not holds("2020", "2020", at_most_strictly) and holds("2019", "2020", at_most_strictly)
    assert not can_reach("20201", "2020", at_most_strictly)  # longer: orders after
