"""Regular expressions for what a contract states about numbers and dates, for the guided decoder.

The decoder holds a value to a regular expression byte by byte (grammar.py, partial matching),
so a range is written as one: `int_range(0, 365)` matches exactly the integers 0..365 in the
form the corpus writes them (no sign for non-negatives, no leading zeros), so a drawn `4` may
not go on to `412`. Floats keep the integer part in range (fraction any, except at an integer
bound, where it must be zeros); a bound with a fraction is rounded inwards, so such a range is
narrower than the contract's, never wider. Dates are calendar dates (no 02-30, 02-29 only in
leap years) in the years pandas can hold, which validation parses with.
Tests: tests/synthesis/test_ranges.py.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable

import pandas as pd

WIDEST = 10**12 - 1  # an unbounded side of a numeric range: 12 digits, as the type shapes allow
FRACTION = r"\.\d{1,6}"
_MD = (
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)"
)
_TIME = r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"


def _same_width(lo: str, hi: str) -> str:
    """Digit strings of one width from lo to hi (lo <= hi)."""
    if lo == hi:
        return lo
    if lo[0] == hi[0]:
        return lo[0] + _same_width(lo[1:], hi[1:])
    rest = len(lo) - 1
    parts = [lo[0] + _same_width(lo[1:], "9" * rest)] if rest else [lo[0]]
    if int(hi[0]) - int(lo[0]) > 1:
        parts.append(f"[{int(lo[0]) + 1}-{int(hi[0]) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    parts.append(hi[0] + _same_width("0" * rest, hi[1:]) if rest else hi[0])
    return "(?:" + "|".join(parts) + ")"


def _naturals(lo: int, hi: int) -> str:
    """0 <= lo <= hi, written without leading zeros."""
    parts = []
    for width in range(len(str(lo)), len(str(hi)) + 1):
        first = max(lo, 10 ** (width - 1) if width > 1 else 0)
        last = min(hi, 10**width - 1)
        if first <= last:
            parts.append(_same_width(str(first), str(last)))
    return "(?:" + "|".join(parts) + ")"


def int_range(lo: float | None, hi: float | None) -> str:
    """Integers in [lo, hi] (None: unbounded, 12 digits); a fractional bound rounds inwards."""
    return _signed(lo, hi, _naturals, smallest_negative=1, what="integer")


def _unsigned_float(lo: int, hi: int) -> str:
    """Non-negative decimals with integer part in [lo, hi), any fraction, or exactly hi."""
    parts = [f"{_naturals(lo, hi - 1)}(?:{FRACTION})?"] if lo < hi else []
    parts.append(rf"{hi}(?:\.0{{1,6}})?")
    return "(?:" + "|".join(parts) + ")"


def float_range(lo: float | None, hi: float | None) -> str:
    """Decimals in [lo, hi], at most 12 integer and 6 fraction digits (see the docstring)."""
    return _signed(lo, hi, _unsigned_float, smallest_negative=0, what="value")


def _signed(
    lo: float | None,
    hi: float | None,
    unsigned: Callable[[int, int], str],
    *,
    smallest_negative: int,
    what: str,
) -> str:
    """[lo, hi] rounded inwards to integer bounds: `unsigned` over its non-negative part, "-" and
    `unsigned` over the magnitudes of its negative part (from `smallest_negative`: -0 is no
    integer, -0.5 is a decimal)."""
    low = -WIDEST if lo is None else math.ceil(lo)
    high = WIDEST if hi is None else math.floor(hi)
    if low > high:
        raise ValueError(f"no {what} in [{lo}, {hi}] with integer bounds inside")
    parts = []
    if low < 0:
        parts.append("-" + unsigned(max(smallest_negative, -high), -low))
    if high >= 0:
        parts.append(unsigned(max(0, low), high))
    return "(?:" + "|".join(parts) + ")"


def _years() -> tuple[int, int]:
    """Whole years pandas' datetime64[ns] holds (validation parses dates with pandas)."""
    return pd.Timestamp.min.year + 1, pd.Timestamp.max.year - 1


def date_pattern(last_year: int | None = None) -> str:
    """ISO dates that exist; `last_year`: no later year (a not_future column)."""
    first, last = _years()
    last = last if last_year is None else min(last, last_year)
    leap = "|".join(str(y) for y in range(first, last + 1) if calendar.isleap(y))
    return f"(?:{int_range(first, last)}-{_MD}|(?:{leap})-02-29)"


def datetime_pattern(last_year: int | None = None) -> str:
    return f"(?:{date_pattern(last_year)}{_TIME})"
