"""Canary exposure (Carlini et al. 2019, "The Secret Sharer", arXiv:1802.08232, section 4).

exposure = log2 |R| - log2 rank, where rank is the secret's place among all |R| possible secrets
ordered by the model's loss on them (1: the model prefers it to every other). |R| = 10^10 is too
many to score, so the rank is estimated from K random candidates: by counting (a sampled estimate,
at most log2(K + 1) bits) and by extrapolation (section 4.3: fit a skew-normal to the candidates'
losses and read the secret's quantile), which can report more than log2(K + 1) bits. The fit is
by moments rather than maximum likelihood: closed form, a few microseconds per canary. A secret the
model never saw has exposure about 1/ln 2 = 1.44 bits on average under either estimate.
Tests: tests/audit/test_exposure.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats


def exposure_from_rank(*, rank: int, space_size: float) -> float:
    """log2 |R| - log2 rank (rank 1: the secret is the model's favourite)."""
    if not 1 <= rank <= space_size:
        raise ValueError("rank must be in [1, space_size]")
    return math.log2(space_size) - math.log2(rank)


def sampled_exposure(*, secret_loss: float, candidate_losses: np.ndarray) -> float:
    """-log2 of the share of {secret} + K candidates with a loss at most the secret's: the
    secret's rank among K + 1 as a fraction of the space (ties count against the secret)."""
    losses = np.asarray(candidate_losses, dtype=float)
    at_most = int((losses <= secret_loss).sum()) + 1
    return -math.log2(at_most / (len(losses) + 1))


_MAX_SKEW = 0.99  # a skew-normal's skewness lies in (-0.9953, 0.9953)


def skewnorm_moments_fit(samples: np.ndarray) -> tuple[float, float, float]:
    """(shape, location, scale) of the skew-normal with the samples' mean, variance and skewness
    (method of moments, closed form: fast and without an optimiser's failures; the sample's
    skewness is clipped into the family's range)."""
    mean, std = float(np.mean(samples)), float(np.std(samples))
    skew = float(np.clip(stats.skew(samples), -_MAX_SKEW, _MAX_SKEW)) if std > 0 else 0.0
    power = abs(skew) ** (2 / 3)
    delta = math.copysign(
        math.sqrt(math.pi / 2 * power / (power + ((4 - math.pi) / 2) ** (2 / 3))), skew
    )
    scale = std / math.sqrt(1 - 2 * delta**2 / math.pi)
    location = mean - scale * delta * math.sqrt(2 / math.pi)
    return delta / math.sqrt(1 - delta**2), location, scale


def extrapolated_exposure(
    *, secret_loss: float, candidate_losses: np.ndarray, space_bits: float
) -> float:
    """-log2 P[loss of a random secret <= the secret's] under a skew-normal fitted to the
    candidates, capped at log2 |R| (no estimate may claim a rank better than 1)."""
    losses = np.asarray(candidate_losses, dtype=float)
    shape, location, scale = skewnorm_moments_fit(losses)
    if scale == 0:  # every candidate scored alike: the secret is below all or none of them
        return space_bits if secret_loss < location else 0.0
    with warnings.catch_warnings():  # far tails underflow to -inf: capped below
        warnings.simplefilter("ignore")
        log_cdf = float(stats.skewnorm.logcdf(secret_loss, shape, location, scale))
    if not math.isfinite(log_cdf):
        return space_bits
    return float(min(max(-log_cdf / math.log(2), 0.0), space_bits))
