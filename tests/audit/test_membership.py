"""Membership inference statistics against hand-computed values."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from strongroom.audit.membership import auc, auc_interval, clopper_pearson, tpr_at_fpr


def test_auc_is_the_share_of_member_nonmember_pairs_ranked_right():
    # pairs (m, n): 3>1, 3>2, 5>1, 5>2, tie 2=2 counts 1/2, 2>1 -> (1 + 1 + 1 + 1 + 1 + 0.5) / 6
    assert auc(members=np.array([3, 5, 2]), nonmembers=np.array([1, 2])) == pytest.approx(5.5 / 6)
    rng = np.random.default_rng(1)
    members, nonmembers = rng.normal(0.3, 1, 300), rng.normal(0, 1, 200)
    labels = np.r_[np.ones(300), np.zeros(200)]
    reference = roc_auc_score(labels, np.r_[members, nonmembers])
    assert auc(members=members, nonmembers=nonmembers) == pytest.approx(reference)


def test_hanley_mcneil_interval_at_chance():
    # A = 0.5, 10 x 10: Q1 = Q2 = 1/3, variance (0.25 + 9/12 + 9/12) / 100 = 0.0175
    rate = auc_interval(0.5, members=10, nonmembers=10, confidence=0.95)
    half = 1.959964 * 0.0175**0.5
    assert rate.low == pytest.approx(0.5 - half, abs=1e-5)
    assert rate.high == pytest.approx(0.5 + half, abs=1e-5)


def test_tpr_at_fpr_lets_through_at_most_the_allowed_nonmembers():
    nonmembers = np.arange(100.0)  # 1% of 100: one non-member (99) may score above the threshold
    members = np.array([98.5, 99.5, 50.0, 10.0])
    rate = tpr_at_fpr(members=members, nonmembers=nonmembers, fpr=0.01, confidence=0.95)
    assert rate.value == 0.5
    low, high = clopper_pearson(2, 4, confidence=0.95)
    assert (rate.low, rate.high) == (low, high)
    # too few non-members for 0.1%: no non-member may pass, the threshold is the highest one
    strict = tpr_at_fpr(members=members, nonmembers=nonmembers, fpr=0.001, confidence=0.95)
    assert strict.value == 0.25


def test_clopper_pearson_known_values():
    # 0 of 10 at 95%: upper 1 - 0.025^(1/10) = 0.30850
    assert clopper_pearson(0, 10, confidence=0.95) == pytest.approx((0.0, 0.308497), abs=1e-5)
    low, high = clopper_pearson(10, 10, confidence=0.95)
    assert high == 1.0 and low == pytest.approx(0.025**0.1, abs=1e-6)
