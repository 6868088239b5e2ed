"""DP-SGD plans: noise calibrated to a target (epsilon, delta) for Poisson sampling over units.

The sampling rate is exactly what Opacus' Poisson data loader uses (1 / number of batches per
epoch), so the epsilon of the plan is the epsilon of what runs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from strongroom.errors import PrivacyBudgetError

ACCOUNTANT = "prv"  # Opacus' privacy random variable accountant (tight, an upper bound)


@dataclass(frozen=True)
class DPPlan:
    target_epsilon: float  # budget for the whole training run
    delta: float  # probability the epsilon bound may fail; well below 1 / units
    units: int  # privacy units (people) in the training set
    expected_batch_size: int  # logical batch: sampling_rate * units on average
    sampling_rate: float  # Poisson probability that a unit joins a step
    steps: int  # optimizer steps; each samples afresh
    noise_multiplier: float  # sigma: noise std / clipping norm
    max_grad_norm: float  # per-unit clipping norm C
    planned_epsilon: float  # epsilon after `steps` steps, by the accountant
    accountant: str = ACCOUNTANT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def epsilon_after(self, steps: int) -> float:
        """Epsilon of the first `steps` steps of this plan, by its accountant."""
        return epsilon_for(
            noise_multiplier=self.noise_multiplier,
            sampling_rate=self.sampling_rate,
            steps=steps,
            delta=self.delta,
            accountant=self.accountant,
        )


def poisson_rate(units: int, batch_size: int) -> float:
    """The rate Opacus' DPDataLoader uses for a DataLoader of this batch size."""
    return 1.0 / math.ceil(units / batch_size)


def epsilon_for(
    *,
    noise_multiplier: float,
    sampling_rate: float,
    steps: int,
    delta: float,
    accountant: str = ACCOUNTANT,
) -> float:
    """Epsilon of `steps` Poisson-subsampled Gaussian steps, by an Opacus accountant."""
    from opacus.accountants import create_accountant

    if steps == 0:
        return 0.0
    acct = create_accountant(mechanism=accountant)
    acct.history = [(noise_multiplier, sampling_rate, steps)]
    return float(acct.get_epsilon(delta=delta))


def make_plan(
    *,
    target_epsilon: float,
    delta: float,
    units: int,
    batch_size: int,
    epochs: float,
    max_grad_norm: float,
) -> DPPlan:
    """Calibrate sigma so that `epochs` passes (in expectation) spend at most target_epsilon."""
    from opacus.accountants.utils import get_noise_multiplier

    problems = []
    if target_epsilon <= 0:
        problems.append("epsilon must be positive")
    if not 0 < delta < 1:
        problems.append("delta must be in (0, 1)")
    elif units and delta >= 1 / units:
        problems.append(f"delta {delta:g} must be below 1/units = {1 / units:g}")
    if units < 2 or not 1 <= batch_size <= units:
        problems.append(f"need 2+ units and 1 <= batch size <= units (units={units})")
    if problems:
        raise PrivacyBudgetError("; ".join(problems))
    q = poisson_rate(units, batch_size)
    steps = max(1, round(epochs / q))
    sigma = get_noise_multiplier(
        target_epsilon=target_epsilon,
        target_delta=delta,
        sample_rate=q,
        steps=steps,
        accountant=ACCOUNTANT,
        epsilon_tolerance=0.01,
    )
    planned = epsilon_for(noise_multiplier=sigma, sampling_rate=q, steps=steps, delta=delta)
    if planned > target_epsilon:
        raise PrivacyBudgetError(f"calibration missed: {planned:.4f} > {target_epsilon}")
    return DPPlan(
        target_epsilon=target_epsilon,
        delta=delta,
        units=units,
        expected_batch_size=batch_size,
        sampling_rate=q,
        steps=steps,
        noise_multiplier=float(sigma),
        max_grad_norm=max_grad_norm,
        planned_epsilon=planned,
    )
