"""What ran, and its epsilon: one `Mechanism` object that every accountant reads.

A DP-SGD run is `steps` compositions of a Poisson-subsampled Gaussian mechanism over privacy units
(add/remove adjacency: one person's whole example is added or removed). `Mechanism` carries
exactly that, yields its dp_accounting `DpEvent`, and its epsilon under two independent
accountants: Opacus' PRV accountant and Google's dp_accounting PLD accountant. Both are upper
bounds up to their discretisation; the number we report is the larger of the two, and a gap
wider than `TOLERANCE` means one of them, or the way we call it, is wrong, so neither is reported.

Composition (the ledger: several runs on the same people) reads the same objects. Calibration
searches the noise multiplier and then rounds toward safety: the returned mechanism's epsilon is
at most the target under *both* accountants. Tests: tests/privacy/test_mechanism.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from strongroom.errors import PrivacyBudgetError

ADJACENCY = "add_remove"  # neighbouring data sets differ by all records of one person
TOLERANCE = 0.03  # relative PRV vs PLD gap; they agree to well under 1% on our test points
_PLD_DISCRETIZATION = 1e-3  # dp_accounting's value discretisation: finer is tighter, slower


@dataclass(frozen=True)
class Epsilons:
    """Epsilon of one mechanism (or a composition) under both accountants, at `delta`."""

    prv: float  # Opacus PRV accountant
    pld: float  # dp_accounting PLD accountant
    delta: float

    @property
    def reported(self) -> float:
        """The larger of the two: when in doubt, the conservative number."""
        return max(self.prv, self.pld)

    @property
    def gap(self) -> float:
        return abs(self.prv - self.pld) / max(min(self.prv, self.pld), 1e-12)

    def checked(self, tolerance: float = TOLERANCE) -> Epsilons:
        """Self, or PrivacyBudgetError when the accountants differ by more than `tolerance`."""
        if self.gap > tolerance:
            raise PrivacyBudgetError(
                f"accountants disagree: PRV epsilon {self.prv:.4f}, PLD epsilon {self.pld:.4f} "
                f"(gap {self.gap:.1%} > {tolerance:.1%}); not reporting either"
            )
        return self


@dataclass(frozen=True)
class Mechanism:
    """`steps` Poisson-subsampled Gaussian steps over privacy units: what a DP-SGD run did."""

    noise_multiplier: float  # sigma: noise std / clipping norm
    sampling_rate: float  # Poisson probability that one privacy unit joins a step
    steps: int  # optimizer steps taken (each samples afresh)
    delta: float  # the delta the guarantee is stated at
    privacy_unit: str  # what one unit is (patient, customer, member): the contract declares it
    adjacency: str = ADJACENCY

    def __post_init__(self) -> None:
        problems = []
        if not self.noise_multiplier >= 0 or not math.isfinite(self.noise_multiplier):
            problems.append(f"noise multiplier must be finite, 0 or more: {self.noise_multiplier}")
        if not 0 < self.sampling_rate <= 1:
            problems.append(f"sampling rate must be in (0, 1]: {self.sampling_rate}")
        if self.steps < 0:
            problems.append(f"steps must be 0 or more: {self.steps}")
        if not 0 < self.delta < 1:
            problems.append(f"delta must be in (0, 1): {self.delta}")
        if self.adjacency != ADJACENCY:
            problems.append(f"only {ADJACENCY} adjacency is accounted, not {self.adjacency!r}")
        if problems:
            raise PrivacyBudgetError("; ".join(problems))

    def after(self, steps: int) -> Mechanism:
        """The same mechanism stopped after `steps` steps."""
        return replace(self, steps=steps)

    def dp_event(self) -> Any:
        """The dp_accounting event of this mechanism."""
        import dp_accounting

        step = dp_accounting.PoissonSampledDpEvent(
            self.sampling_rate, dp_accounting.GaussianDpEvent(self.noise_multiplier)
        )
        return dp_accounting.SelfComposedDpEvent(step, self.steps)

    def epsilons(self, *, delta: float | None = None) -> Epsilons:
        """Epsilon under both accountants (not yet cross-checked: call `.checked()`)."""
        return composed_epsilons([self], delta=self.delta if delta is None else delta)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mechanism:
        return cls(
            noise_multiplier=float(data["noise_multiplier"]),
            sampling_rate=float(data["sampling_rate"]),
            steps=int(data["steps"]),
            delta=float(data["delta"]),
            privacy_unit=str(data["privacy_unit"]),
            adjacency=str(data.get("adjacency", ADJACENCY)),
        )


def composed_epsilons(mechanisms: Sequence[Mechanism], *, delta: float) -> Epsilons:
    """Epsilon of running every mechanism on the same people, at `delta`, by both accountants."""
    ran = [m for m in mechanisms if m.steps > 0]
    if not ran:
        return Epsilons(0.0, 0.0, delta)
    if any(m.noise_multiplier == 0 for m in ran):  # no noise: no guarantee
        return Epsilons(math.inf, math.inf, delta)
    return Epsilons(_prv(ran, delta), _pld(ran, delta), delta)


def _prv(mechanisms: Sequence[Mechanism], delta: float) -> float:
    from opacus.accountants import PRVAccountant

    accountant = PRVAccountant()
    accountant.history = [(m.noise_multiplier, m.sampling_rate, m.steps) for m in mechanisms]
    return float(accountant.get_epsilon(delta=delta))


def _pld(mechanisms: Sequence[Mechanism], delta: float) -> float:
    from dp_accounting.pld import pld_privacy_accountant

    accountant = pld_privacy_accountant.PLDAccountant(
        value_discretization_interval=_PLD_DISCRETIZATION
    )
    for mechanism in mechanisms:
        accountant.compose(mechanism.dp_event())
    return float(accountant.get_epsilon(delta))


def calibrate(
    *, target_epsilon: float, delta: float, sampling_rate: float, steps: int, privacy_unit: str
) -> Mechanism:
    """The mechanism with the smallest noise (found by bisection, then rounded up) whose epsilon
    is at most `target_epsilon` under both accountants."""
    from opacus.accountants.utils import get_noise_multiplier

    sigma = get_noise_multiplier(
        target_epsilon=target_epsilon,
        target_delta=delta,
        sample_rate=sampling_rate,
        steps=steps,
        accountant="prv",
        epsilon_tolerance=0.01,
    )
    for _ in range(60):  # rounds toward safety: each try adds 0.5% noise
        mechanism = Mechanism(float(sigma), sampling_rate, steps, delta, privacy_unit)
        if mechanism.epsilons().reported <= target_epsilon:
            return mechanism
        sigma *= 1.005
    raise PrivacyBudgetError(f"calibration could not reach epsilon {target_epsilon}")
