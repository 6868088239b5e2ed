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
_PRV_ERROR = 0.01  # Opacus' default absolute error bar on PRV's epsilon
# Above epsilon 10 the error bar grows with epsilon (0.1%): PRV's upper bound stays a guarantee,
# looser by at most that, and a 10,000-step run's check takes a fraction of a second, not seconds.
_PRV_REPORT_ERROR = 1e-3


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

    def rdp_upper_bound(self) -> float:
        """RDP's epsilon: never below the accountants', and milliseconds where they take
        seconds, so a progress bar can show it after every step."""
        if self.steps == 0:
            return 0.0
        if self.noise_multiplier == 0:
            return math.inf
        return _rdp_epsilon(self.noise_multiplier, self.sampling_rate, self.steps, self.delta)

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
    pld = _pld(ran, delta)
    return Epsilons(
        _prv(ran, delta, eps_error=max(_PRV_ERROR, _PRV_REPORT_ERROR * pld)), pld, delta
    )


def _prv(mechanisms: Sequence[Mechanism], delta: float, *, eps_error: float) -> float:
    """PRV's upper bound (its estimate plus `eps_error`): a guarantee, not an estimate."""
    from opacus.accountants import PRVAccountant

    accountant = PRVAccountant()
    accountant.history = [(m.noise_multiplier, m.sampling_rate, m.steps) for m in mechanisms]
    return float(accountant.get_epsilon(delta=delta, eps_error=eps_error))


def _pld(mechanisms: Sequence[Mechanism], delta: float) -> float:
    from dp_accounting.pld import pld_privacy_accountant

    accountant = pld_privacy_accountant.PLDAccountant(
        value_discretization_interval=_PLD_DISCRETIZATION
    )
    for mechanism in mechanisms:
        accountant.compose(mechanism.dp_event())
    return float(accountant.get_epsilon(delta))


# Calibration. Opacus' get_noise_multiplier doubles sigma without bound and, at large targets,
# asks the PRV accountant about tiny sigmas whose privacy loss is so spread out that one call
# takes minutes (sigma 0.05, q 1/1000, 100 steps: 5 minutes) or runs out of memory. So the
# bracket is found with the RDP bound, which is analytic and cheap at any sigma and is never
# below PRV's epsilon; PRV is then asked only about sigmas whose epsilon is near the target.
# Integer orders only: their RDP is a finite sum, fractional ones a slow series.
_RDP_ORDERS = [*range(2, 17), 20, 24, 32, 48, 64, 96, 128, 192, 256]
_SIGMA_RANGE = (1e-3, 1e4)  # RDP search range: a target inside PrivacyParams' range lies within
_RDP_ITERATIONS = 24  # halvings of log(1e7): sigma to ~1e-6 relative
_BRACKET_SHRINK = 0.8  # lower bracket: hi * 0.8**k, PRV being tighter than RDP by a margin
_BRACKET_TRIES = 12  # 0.8**12 ~ 0.07: RDP is never that loose on a calibrated sigma
_PRV_ITERATIONS = 10  # halvings of log(hi/lo) = log(1/0.8): sigma within ~0.02%
_PRV_SEARCH_ERROR = 2e-3  # the search's error bar, relative to the target
_NUDGE = 0.005  # rounding toward safety: first +0.5% noise, doubling the step each try
_NUDGE_TRIES = 10  # up to ~+5x: PLD's discretisation error grows with the steps


def _nudge(attempt: int) -> float:
    """Factor for the `attempt`-th rounding up: small first, then doubling, so a few tries
    cover both a hair's breadth and a PLD that is pessimistic by a lot."""
    return 1 + _NUDGE * 2**attempt


def _rdp_epsilon(sigma: float, sampling_rate: float, steps: int, delta: float) -> float:
    """RDP epsilon (Balle et al. 2020 conversion): an upper bound, cheap at any sigma."""
    import warnings

    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    with warnings.catch_warnings():  # "optimal order is the largest alpha": only a bracket
        warnings.simplefilter("ignore")
        rdp = compute_rdp(q=sampling_rate, noise_multiplier=sigma, steps=steps, orders=_RDP_ORDERS)
        epsilon, _ = get_privacy_spent(orders=_RDP_ORDERS, rdp=rdp, delta=delta)
    return float(epsilon) if math.isfinite(epsilon) else math.inf


def _prv_estimate(
    sigma: float, sampling_rate: float, steps: int, delta: float, target_epsilon: float
) -> float:
    """PRV's epsilon with an error bar relative to the target (0.2%, not Opacus' absolute 0.01):
    at large targets each call is several times faster. Only the search uses it; the calibrated
    mechanism is then checked at full precision by both accountants."""
    from opacus.accountants import PRVAccountant

    accountant = PRVAccountant()
    accountant.history = [(sigma, sampling_rate, steps)]
    error = max(_PRV_ERROR, _PRV_SEARCH_ERROR * target_epsilon)
    return float(accountant.get_epsilon(delta=delta, eps_error=error))


def _rdp_sigma(target_epsilon: float, sampling_rate: float, steps: int, delta: float) -> float:
    """The smallest sigma (to ~1e-6 relative) whose RDP epsilon is at most the target."""
    lo, hi = _SIGMA_RANGE
    if _rdp_epsilon(hi, sampling_rate, steps, delta) > target_epsilon:
        raise PrivacyBudgetError(
            f"epsilon {target_epsilon} needs a noise multiplier above {hi:g}: not calibrated"
        )
    for _ in range(_RDP_ITERATIONS):  # geometric midpoints: sigma spans orders of magnitude
        mid = math.sqrt(lo * hi)
        if _rdp_epsilon(mid, sampling_rate, steps, delta) <= target_epsilon:
            hi = mid
        else:
            lo = mid
    return hi


def calibrate(
    *, target_epsilon: float, delta: float, sampling_rate: float, steps: int, privacy_unit: str
) -> Mechanism:
    """The mechanism with about the smallest noise whose epsilon is at most `target_epsilon`
    under both accountants: an RDP bracket, a bounded PRV bisection, then rounded up until
    PLD agrees. At most ~45 PRV and ~10 PLD calls, each on a sigma near the answer."""

    def fits(sigma: float) -> bool:
        return _prv_estimate(sigma, sampling_rate, steps, delta, target_epsilon) <= target_epsilon

    hi = _rdp_sigma(target_epsilon, sampling_rate, steps, delta)
    for attempt in range(_NUDGE_TRIES):  # PRV's error bar can exceed RDP's slack at tiny targets
        if fits(hi):
            break
        hi *= _nudge(attempt)
    lo = hi
    for _ in range(_BRACKET_TRIES):
        lo = hi * _BRACKET_SHRINK
        if not fits(lo):
            break
        hi = lo
    for _ in range(_PRV_ITERATIONS):
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    sigma = hi
    for attempt in range(_NUDGE_TRIES):  # PLD, and PRV's discretisation, may still say more
        mechanism = Mechanism(sigma, sampling_rate, steps, delta, privacy_unit)
        if mechanism.epsilons().reported <= target_epsilon:
            return mechanism
        sigma *= _nudge(attempt)
    raise PrivacyBudgetError(f"calibration could not reach epsilon {target_epsilon}")
