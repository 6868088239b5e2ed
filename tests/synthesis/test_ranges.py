"""Ranges and dates as regular expressions: exactly the stated values, in the corpus' form."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from strongroom.synthesis.ranges import date_pattern, datetime_pattern, float_range, int_range


@pytest.mark.parametrize(
    ("lo", "hi"), [(0, 365), (0, 125), (-1000, 1000), (7, 7), (5, 99), (-50, -3), (10, 1000)]
)
def test_int_range_matches_exactly_the_integers_in_range(lo, hi) -> None:
    pattern = re.compile(int_range(lo, hi))
    assert [x for x in range(-3000, 3000) if pattern.fullmatch(str(x))] == list(range(lo, hi + 1))
    assert not pattern.fullmatch("0" + str(hi))  # no leading zeros: the corpus writes none


def test_int_range_rounds_fractional_bounds_inwards_and_refuses_an_empty_one() -> None:
    pattern = re.compile(int_range(0.5, 3.5))
    assert [x for x in range(-5, 10) if pattern.fullmatch(str(x))] == [1, 2, 3]
    with pytest.raises(ValueError):
        int_range(1.2, 1.8)


def test_float_range_keeps_values_inside_the_bounds() -> None:
    pattern = re.compile(float_range(-1e6, 1e6))
    inside = ["0", "12.5", "-0.25", "999999.999999", "1000000", "1000000.00", "-1000000"]
    outside = ["1000000.01", "-1000000.5", "1000001", "1e3", "12.", "nan"]
    assert all(pattern.fullmatch(v) for v in inside)
    assert not any(pattern.fullmatch(v) for v in outside)


def test_dates_are_calendar_dates_and_not_after_the_last_year() -> None:
    pattern = re.compile(date_pattern())
    day = dt.date(1999, 1, 1)
    while day < dt.date(2005, 1, 1):  # two leap years, 2000 (a century) among them
        assert pattern.fullmatch(day.isoformat()), day
        day += dt.timedelta(days=1)
    for bad in ("2023-02-29", "1900-02-29", "2024-02-30", "2024-04-31", "2024-13-01", "2024-00-10"):
        assert not pattern.fullmatch(bad), bad
    assert not re.fullmatch(date_pattern(last_year=2020), "2021-01-01")
    assert re.fullmatch(datetime_pattern(), "2024-02-29T23:59:59")
    assert not re.fullmatch(datetime_pattern(), "2024-02-28T24:00:00")
