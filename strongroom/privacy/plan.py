"""DP-SGD plans: the privacy parameters of a run, and the mechanism calibrated from them.

The sampling rate is exactly what Opacus' Poisson data loader uses (1 / number of batches per
epoch), so the mechanism of the plan is the mechanism that runs. The number of people N, and so
q, T and sigma, are treated as public (the card says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from strongroom.errors import PrivacyBudgetError
from strongroom.privacy.mechanism import Mechanism, calibrate

EPSILON_MIN = 0.05  # smallest accepted target epsilon
EPSILON_MAX = 100.0  # largest accepted target epsilon


class PrivacyParams(BaseModel):
    """The `privacy` group of a run's parameters: what the guarantee is and how it is spent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Accepted range, checked here so that a bad value is a validation error, not a long search:
    # above EPSILON_MAX a DP-SGD guarantee says next to nothing (e^100 bounds no odds anyone
    # cares about) and the accountants become slow and numerically unstable; below EPSILON_MIN
    # the PRV accountant's own error (0.01) is a large part of the budget.
    target_epsilon: float = Field(
        default=4.0,
        ge=EPSILON_MIN,
        le=EPSILON_MAX,
        allow_inf_nan=False,
        description=f"budget for the whole run (per person), {EPSILON_MIN} to {EPSILON_MAX}: "
        "beyond that the guarantee is meaningless and the accountants slow and unstable",
    )
    delta: float = Field(
        default=1e-5, gt=0, lt=1, description="probability the bound may fail; below 1/(10 N)"
    )
    max_grad_norm: float = Field(
        default=1.0, gt=0, allow_inf_nan=False, description="per-person clipping norm C"
    )
    batch_size: int = Field(default=64, ge=1, description="expected logical (Poisson) batch")
    epochs: float = Field(
        default=3.0, gt=0, allow_inf_nan=False, description="passes over the people"
    )


@dataclass(frozen=True)
class DPPlan:
    """A calibrated plan: the mechanism to run and the settings around it."""

    mechanism: Mechanism  # noise, sampling rate, steps, delta, privacy unit
    target_epsilon: float  # budget for the whole run
    units: int  # privacy units (people) in the training set
    expected_batch_size: int  # logical batch: sampling_rate * units on average
    max_grad_norm: float  # per-unit clipping norm C
    planned_epsilon: float  # the mechanism's reported epsilon (larger of PRV and PLD)

    @property
    def noise_multiplier(self) -> float:
        return self.mechanism.noise_multiplier

    @property
    def sampling_rate(self) -> float:
        return self.mechanism.sampling_rate

    @property
    def steps(self) -> int:
        return self.mechanism.steps

    @property
    def delta(self) -> float:
        return self.mechanism.delta

    def to_dict(self) -> dict[str, Any]:
        return {
            "mechanism": self.mechanism.to_dict(),
            "target_epsilon": self.target_epsilon,
            "units": self.units,
            "expected_batch_size": self.expected_batch_size,
            "max_grad_norm": self.max_grad_norm,
            "planned_epsilon": self.planned_epsilon,
        }


def poisson_rate(units: int, batch_size: int) -> float:
    """The rate Opacus' DPDataLoader uses for a DataLoader of this batch size."""
    return 1.0 / math.ceil(units / batch_size)


def make_plan(params: PrivacyParams, *, units: int, privacy_unit: str) -> DPPlan:
    """Calibrate sigma so that `epochs` passes (in expectation) spend at most target_epsilon."""
    problems = []
    if units < 2 or not 1 <= params.batch_size <= units:
        problems.append(f"need 2+ units and 1 <= batch size <= units (units={units})")
    elif params.delta >= 1 / units:
        problems.append(f"delta {params.delta:g} must be below 1/units = {1 / units:g}")
    if problems:
        raise PrivacyBudgetError("; ".join(problems))
    q = poisson_rate(units, params.batch_size)
    steps = max(1, round(params.epochs / q))
    mechanism = calibrate(
        target_epsilon=params.target_epsilon,
        delta=params.delta,
        sampling_rate=q,
        steps=steps,
        privacy_unit=privacy_unit,
    )
    return DPPlan(
        mechanism=mechanism,
        target_epsilon=params.target_epsilon,
        units=units,
        expected_batch_size=params.batch_size,
        max_grad_norm=params.max_grad_norm,
        planned_epsilon=mechanism.epsilons().reported,
    )
