"""Loss-threshold membership inference (Yeom et al. 2018): can a person's loss tell whether they
were trained on? Scores are negated losses, so members should score higher.

AUC is the Mann-Whitney statistic with a Hanley & McNeil (1982) interval. TPR at a low FPR takes
the threshold that lets at most floor(FPR * n) held-out persons through (Carlini et al. 2022,
"Membership Inference Attacks From First Principles": the low-FPR regime is what matters) with a
Clopper-Pearson interval on the members' rate at that threshold; with fewer than 1 / FPR held-out
persons the threshold admits none (the rate at FPR 0, a lower bound on the rate at FPR).
Tests: tests/audit/test_membership.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Rate:
    value: float
    low: float
    high: float


def auc(*, members: np.ndarray, nonmembers: np.ndarray) -> float:
    """P[a member scores above a non-member], ties counted one half."""
    ranks = stats.rankdata(np.concatenate([members, nonmembers]))  # average ranks for ties
    n1, n2 = len(members), len(nonmembers)
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    return float(u / (n1 * n2))


def auc_interval(value: float, *, members: int, nonmembers: int, confidence: float) -> Rate:
    """Hanley & McNeil's normal interval for an AUC from `members` x `nonmembers` pairs."""
    q1, q2 = value / (2 - value), 2 * value**2 / (1 + value)
    variance = (
        value * (1 - value) + (members - 1) * (q1 - value**2) + (nonmembers - 1) * (q2 - value**2)
    ) / (members * nonmembers)
    half = float(stats.norm.ppf(0.5 + confidence / 2)) * math.sqrt(max(variance, 0.0))
    return Rate(value, max(0.0, value - half), min(1.0, value + half))


def clopper_pearson(successes: int, trials: int, *, confidence: float) -> tuple[float, float]:
    """Exact binomial interval for successes / trials."""
    alpha = 1 - confidence
    low = (
        0.0
        if successes == 0
        else float(stats.beta.ppf(alpha / 2, successes, trials - successes + 1))
    )
    high = (
        1.0
        if successes == trials
        else float(stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    )
    return low, high


def tpr_at_fpr(
    *, members: np.ndarray, nonmembers: np.ndarray, fpr: float, confidence: float
) -> Rate:
    """Members' rate above the threshold that lets at most floor(fpr * n) non-members through."""
    ranked = np.sort(np.asarray(nonmembers, dtype=float))[::-1]
    allowed = math.floor(fpr * len(ranked))
    threshold = ranked[allowed] if allowed < len(ranked) else -math.inf
    hits = int((np.asarray(members) > threshold).sum())
    low, high = clopper_pearson(hits, len(members), confidence=confidence)
    return Rate(hits / len(members), low, high)
