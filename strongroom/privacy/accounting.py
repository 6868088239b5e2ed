"""Epsilon of what ran, from two independent accountants that must agree.

Opacus' PRV accountant follows training step by step; Google's dp_accounting (PLD) recomputes
the same mechanism from the recorded history. Both are upper bounds up to their discretisation;
a gap wider than the tolerance means one of them, or the way we call it, is wrong, and the
run is stopped rather than reporting either number.
"""

from __future__ import annotations

from collections.abc import Sequence

from strongroom.errors import PrivacyBudgetError

History = Sequence[tuple[float, float, int]]  # (noise multiplier, sampling rate, steps)
DEFAULT_TOLERANCE = 0.03  # relative; PRV and PLD agree to well under 1% on our test points


def prv_epsilon(history: History, delta: float) -> float:
    from opacus.accountants import PRVAccountant

    if not history:
        return 0.0
    accountant = PRVAccountant()
    accountant.history = [tuple(entry) for entry in history]
    return float(accountant.get_epsilon(delta=delta))


def pld_epsilon_of(history: History, delta: float) -> float:
    import dp_accounting
    from dp_accounting.pld import pld_privacy_accountant

    if not history:
        return 0.0
    accountant = pld_privacy_accountant.PLDAccountant(value_discretization_interval=1e-3)
    for sigma, rate, steps in history:
        event = dp_accounting.PoissonSampledDpEvent(rate, dp_accounting.GaussianDpEvent(sigma))
        accountant.compose(dp_accounting.SelfComposedDpEvent(event, int(steps)))
    return float(accountant.get_epsilon(delta))


def cross_checked(
    history: History, delta: float, tolerance: float = DEFAULT_TOLERANCE
) -> tuple[float, float]:
    """(PRV epsilon, PLD epsilon); PrivacyBudgetError when they differ by more than `tolerance`."""
    prv, pld = prv_epsilon(history, delta), pld_epsilon_of(history, delta)
    gap = abs(prv - pld) / max(min(prv, pld), 1e-12)
    if gap > tolerance:
        raise PrivacyBudgetError(
            f"accountants disagree: PRV epsilon {prv:.4f}, PLD epsilon {pld:.4f} "
            f"(gap {gap:.1%} > {tolerance:.1%}); not reporting either"
        )
    return prv, pld
