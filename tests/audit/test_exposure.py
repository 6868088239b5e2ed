"""Exposure against hand-computed values (The Secret Sharer, section 4)."""

import math

import numpy as np
import pytest
from scipy import stats

from strongroom.audit.exposure import (
    exposure_from_rank,
    extrapolated_exposure,
    sampled_exposure,
    skewnorm_moments_fit,
)


def test_exposure_is_log_space_minus_log_rank():
    assert exposure_from_rank(rank=1, space_size=2**10) == 10
    assert exposure_from_rank(rank=4, space_size=2**10) == 8
    assert exposure_from_rank(rank=2**10, space_size=2**10) == 0
    with pytest.raises(ValueError):
        exposure_from_rank(rank=0, space_size=10)


def test_sampled_exposure_counts_the_candidates_at_or_below_the_secret():
    candidates = np.arange(1.0, 8.0)  # 7 candidates: the secret is one of 8
    assert sampled_exposure(secret_loss=0.5, candidate_losses=candidates) == 3  # best of 8
    assert sampled_exposure(secret_loss=3.5, candidate_losses=candidates) == 1  # 4 of 8
    assert sampled_exposure(secret_loss=9.0, candidate_losses=candidates) == 0  # worst


def test_extrapolation_reads_the_tail_of_the_fitted_distribution():
    candidates = np.random.default_rng(0).normal(size=20_000)
    expected = -math.log2(0.0013499)  # P[N(0, 1) <= -3] = 0.0013499: 9.53 bits
    got = extrapolated_exposure(secret_loss=-3.0, candidate_losses=candidates, space_bits=33.2)
    assert got == pytest.approx(expected, abs=0.3)
    capped = extrapolated_exposure(secret_loss=-50, candidate_losses=candidates, space_bits=33.2)
    assert capped == 33.2


def test_the_moments_fit_recovers_a_skew_normal():
    samples = stats.skewnorm.rvs(4.0, loc=2.0, scale=3.0, size=200_000, random_state=2)
    shape, location, scale = skewnorm_moments_fit(samples)
    assert (shape, location, scale) == pytest.approx((4.0, 2.0, 3.0), rel=0.1)
