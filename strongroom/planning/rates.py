"""Adam's rate for a planned DP run: a rule fitted on the same sweep as the loss law.

Under DP-SGD Adam divides each step by its running gradient scale, so a step moves each weight
by about the rate whatever the noise; how far the run should travel then sets the rate, and a
run of many steps wants a smaller one. The rule is the least-squares line through each swept
shape's best rate, on log-log axes:

    rate(S) = coef * S^-exponent,   kept within the rates the sweep tried

A rate outside the tried ones is never planned: the law knows nothing of the losses there.
Rates are tuned on generated records only; tuning on the private records would spend privacy.
Tests: tests/planning/test_rates.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RateRule:
    coef: float  # the rate at one step, extrapolated (the line's intercept)
    exponent: float  # how fast the best rate falls with steps (0: one rate for every plan)
    low: float  # the smallest rate the sweep tried
    high: float  # the largest

    def rate(self, steps: float) -> float:
        """The planned rate for `steps` DP steps, rounded to 2 significant figures."""
        raw = self.coef * float(steps) ** -self.exponent
        clipped = min(max(raw, self.low), self.high)
        return float(f"{clipped:.2g}")


def fit_rate_rule(best: Sequence[dict[str, Any]], tried: Sequence[float]) -> RateRule | None:
    """The rule through the best runs' (steps, learning_rate); None when the sweep tried a
    single rate (nothing to learn from) or its best runs all share one step count."""
    rates = sorted({float(r) for r in tried})
    if len(rates) < 2:
        return None
    steps = np.log([float(run["steps"]) for run in best])
    chosen = np.log([float(run["learning_rate"]) for run in best])
    if np.ptp(steps) == 0:
        return None
    slope, intercept = np.polyfit(steps, chosen, 1)
    return RateRule(
        coef=round(math.exp(intercept), 6),
        exponent=round(-float(slope), 6),
        low=rates[0],
        high=rates[-1],
    )
