"""Independent epsilon from Google's dp_accounting (privacy loss distributions).

The gate recomputes epsilon from the recorded mechanism with this second accountant, so that a
mistake in one library, or in how we call it, shows up as a disagreement.
"""

from __future__ import annotations


def pld_epsilon(
    *, noise_multiplier: float, sampling_rate: float, steps: int, delta: float
) -> float:
    """Epsilon of `steps` Poisson-subsampled Gaussian mechanisms (add/remove adjacency)."""
    import dp_accounting
    from dp_accounting.pld import pld_privacy_accountant

    if steps == 0:
        return 0.0
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(
            sampling_rate, dp_accounting.GaussianDpEvent(noise_multiplier)
        ),
        steps,
    )
    accountant = pld_privacy_accountant.PLDAccountant(value_discretization_interval=1e-3)
    accountant.compose(event)
    return float(accountant.get_epsilon(delta))
