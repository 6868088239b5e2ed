"""The planner's accountant against Opacus' RDP (the reference) and the run's calibration."""

import math
import warnings

import numpy as np
import pytest

from strongroom.planning import rdp
from strongroom.privacy.mechanism import Mechanism, calibrate

GRID = [
    (q, sigma, steps, delta)
    for q in (1e-3, 0.03, 1.0)
    for sigma in (0.3, 0.8, 20.0)
    for steps in (1, 10_000)
    for delta in (1e-5, 1e-9)
]


def test_epsilon_equals_opacus_rdp_on_a_grid_of_rate_sigma_steps_and_delta():
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    orders = list(rdp.ORDERS)
    expected = []
    with warnings.catch_warnings():  # "optimal order is the largest alpha"
        warnings.simplefilter("ignore")
        for q, sigma, steps, delta in GRID:
            curve = compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=orders)
            expected.append(get_privacy_spent(orders=orders, rdp=curve, delta=delta)[0])
    ours = [float(rdp.epsilon(q, s, t, d)) for q, s, t, d in GRID]
    for (q, sigma, steps, delta), want, got in zip(GRID, expected, ours, strict=True):
        want = max(float(want), 0.0)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (q, sigma, steps, delta)


def test_vectorised_epsilon_equals_one_call_per_point():
    q, sigma, steps, _ = np.array(GRID).T
    together = rdp.epsilon(q, sigma, steps, 1e-5)
    alone = [float(rdp.epsilon(a, b, c, 1e-5)) for a, b, c in zip(q, sigma, steps, strict=True)]
    assert np.allclose(together, alone, rtol=1e-12)


@pytest.mark.parametrize("target", [0.1, 1.0, 4.0, 32.0, 1000.0])
def test_calibrated_sigma_meets_the_target_and_one_part_in_100000_less_does_not(target):
    q = np.array([1e-3, 0.03, 0.25, 1.0])
    steps = np.array([5000, 300, 40, 12])
    sigma = rdp.calibrate_sigma(target, 1e-6, q, steps)
    assert np.isfinite(sigma).all()
    assert (rdp.epsilon(q, sigma, steps, 1e-6) <= target).all()
    above_floor = sigma > rdp.SIGMA_RANGE[0]
    slightly_less = rdp.epsilon(q, sigma * (1 - 1e-5), steps, 1e-6)
    assert (slightly_less[above_floor] > target).all()


def test_calibration_makes_a_fixed_number_of_accountant_calls(monkeypatch):
    calls = []
    real = rdp._epsilon
    monkeypatch.setattr(rdp, "_epsilon", lambda *a: calls.append(1) or real(*a))
    rdp.calibrate_sigma(4.0, 1e-5, np.geomspace(1e-4, 1, 50), np.full(50, 100))
    assert len(calls) == rdp.SEARCH_ITERATIONS + 2
    calls.clear()
    rdp.calibrate_sigma(1000.0, 1e-5, np.array([0.5]), np.array([3]))
    assert len(calls) == rdp.SEARCH_ITERATIONS + 2


def test_a_target_no_sigma_in_range_reaches_is_infinite_not_wrong():
    sigma = rdp.calibrate_sigma(1e-4, 1e-9, np.array([1.0]), np.array([1_000_000]))
    assert sigma[0] == math.inf


# The run's mechanism: PRV and PLD (each an upper bound, the larger reported). The planner's sigma
# must already meet the target under both, so it is never below the sigma the run calibrates.
RUN_POINTS = [
    (0.1, 0.05, 60),
    (1.0, 0.03, 300),
    (4.0, 1 / 29, 87),
    (32.0, 0.25, 40),
    (100.0, 1.0, 12),
]


@pytest.mark.parametrize(("target", "q", "steps"), RUN_POINTS)
def test_the_planners_sigma_meets_the_target_under_the_runs_accountants(target, q, steps):
    sigma = float(rdp.calibrate_sigma(target, 1e-5, np.array([q]), np.array([steps]))[0])
    mechanism = Mechanism(sigma, q, steps, 1e-5, "person")
    assert mechanism.epsilons().reported <= target


@pytest.mark.parametrize(("target", "q", "steps"), [(1.0, 0.05, 60), (4.0, 1 / 29, 87)])
def test_the_planners_sigma_is_never_below_the_runs_calibrated_sigma(target, q, steps):
    planned = float(rdp.calibrate_sigma(target, 1e-5, np.array([q]), np.array([steps]))[0])
    run = calibrate(
        target_epsilon=target, delta=1e-5, sampling_rate=q, steps=steps, privacy_unit="person"
    )
    assert planned >= run.noise_multiplier
    assert planned <= 1.5 * run.noise_multiplier  # conservative, not useless
