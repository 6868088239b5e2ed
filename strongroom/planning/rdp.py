"""RDP of the Poisson-subsampled Gaussian, in numpy alone: the planner's accountant.

The planner asks about a few hundred (sampling rate, steps) pairs per call and must answer in
well under a second; importing torch and Opacus alone takes 3-4 s. So this module recomputes
Opacus' integer-order RDP (Mironov et al. 2019, section 3.3: log A_alpha as a binomial sum)
vectorised over every pair at once, and converts RDP to (epsilon, delta) with the same
conversion Opacus uses (Balle et al. 2020). RDP is an upper bound on the epsilon that the run's
PRV / PLD accountants report, so a sigma calibrated here is never below the one the run
calibrates (tests/planning/test_rdp.py checks both claims against Opacus and `calibrate`).

Only integer orders: their log A_alpha is a finite sum (fractional orders need a slow series)
and leaving orders out only loosens the bound, never the other way round.
"""

from __future__ import annotations

import math

import numpy as np

# Orders 2..16 carry moderate and large epsilons, the larger ones small epsilons (long runs at
# tiny sampling rates). The run-time bracket (privacy/mechanism.py) goes on to 256; here the
# cost of a call is the number of terms (the sum of the orders), and 192 and 256 would double it
# for epsilons below the planner's range (a missing order only makes sigma larger).
ORDERS: tuple[int, ...] = (*range(2, 17), 20, 24, 32, 48, 64, 96, 128)
SIGMA_RANGE = (1e-3, 1e4)  # search range: eps 1000 at q = 1 needs ~0.05, eps 0.05 at most ~1e3
SEARCH_ITERATIONS = 22  # halvings of log(1e7) = 16.1: sigma to ~4e-6 relative, 24 calls in all

# One flat layout of every (order, k) term of the binomial sums, built once at import:
# log A_alpha = logsumexp_k [log C(alpha, k) + k log q + (alpha - k) log(1 - q) + (k^2 - k) / 2s^2]
_ALPHA = np.concatenate([np.full(a + 1, a, dtype=np.float64) for a in ORDERS])
_K = np.concatenate([np.arange(a + 1, dtype=np.float64) for a in ORDERS])
_STARTS = np.cumsum([0, *(a + 1 for a in ORDERS[:-1])])
_LOG_BINOM = np.array(
    [
        math.lgamma(a + 1) - math.lgamma(k + 1) - math.lgamma(a - k + 1)
        for a, k in zip(_ALPHA, _K, strict=True)
    ]
)
_ORDERS = np.asarray(ORDERS, dtype=np.float64)


_SEGMENTS = np.diff([*_STARTS, len(_K)])


def _sampling_terms(q: np.ndarray) -> np.ndarray:
    """The part of every term that does not depend on sigma: [pairs, terms], once per search."""
    q = q[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_not_q = np.where(_ALPHA == _K, 0.0, (_ALPHA - _K) * np.log1p(-q))  # 0 * -inf at q=1
    return _LOG_BINOM + _K * np.log(q) + log_not_q


def _log_a(base: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """log A_alpha for every order: shape [pairs, orders]; q in (0, 1], sigma > 0."""
    terms = base + (_K * _K - _K) / (2 * sigma[:, None] ** 2)
    top = np.maximum.reduceat(terms, _STARTS, axis=1)  # per order: a stable logsumexp
    spread = np.exp(terms - np.repeat(top, _SEGMENTS, axis=1))
    return top + np.log(np.add.reduceat(spread, _STARTS, axis=1))


def epsilon(
    q: np.ndarray | float, sigma: np.ndarray | float, steps: np.ndarray | float, delta: float
) -> np.ndarray:
    """RDP epsilon at `delta` of `steps` Poisson-subsampled Gaussian steps, element-wise over
    broadcast (q, sigma, steps). Opacus' `compute_rdp` + `get_privacy_spent`, integer orders."""
    q, sigma, steps = np.broadcast_arrays(
        np.asarray(q, dtype=np.float64),
        np.asarray(sigma, dtype=np.float64),
        np.asarray(steps, dtype=np.float64),
    )
    shape = q.shape
    base = _sampling_terms(q.ravel())
    return _epsilon(base, sigma.ravel(), steps.ravel(), delta).reshape(shape)


def _epsilon(base: np.ndarray, sigma: np.ndarray, steps: np.ndarray, delta: float) -> np.ndarray:
    rdp = steps[:, None] * _log_a(base, sigma) / (_ORDERS - 1)
    eps = (
        rdp - (math.log(delta) + np.log(_ORDERS)) / (_ORDERS - 1) + np.log((_ORDERS - 1) / _ORDERS)
    )
    best = np.min(np.where(np.isfinite(eps), eps, np.inf), axis=1)
    return np.maximum(best, 0.0)


def calibrate_sigma(
    target_epsilon: float, delta: float, q: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    """The smallest sigma (to ~4e-6 relative, rounded up) whose RDP epsilon is at most the
    target, for every (q, steps) pair at once: a bisection in log sigma over SIGMA_RANGE with a
    fixed number of accountant calls (SEARCH_ITERATIONS + 2, whatever the input). Pairs that
    need more than SIGMA_RANGE's top are inf: not plannable."""
    q, steps = np.broadcast_arrays(
        np.asarray(q, dtype=np.float64).ravel(), np.asarray(steps, dtype=np.float64).ravel()
    )
    base = _sampling_terms(q)
    lo = np.full(q.shape, math.log(SIGMA_RANGE[0]))
    hi = np.full(q.shape, math.log(SIGMA_RANGE[1]))
    feasible = _epsilon(base, np.exp(hi), steps, delta) <= target_epsilon
    already = _epsilon(base, np.exp(lo), steps, delta) <= target_epsilon  # tiny sigma suffices
    for _ in range(SEARCH_ITERATIONS):  # invariant: hi fits, lo does not (or is the floor)
        mid = (lo + hi) / 2
        fits = _epsilon(base, np.exp(mid), steps, delta) <= target_epsilon
        hi = np.where(fits, mid, hi)
        lo = np.where(fits, lo, mid)
    sigma = np.where(already, SIGMA_RANGE[0], np.exp(hi))
    return np.where(feasible, sigma, np.inf)
