"""One-run empirical epsilon lower bound (Steinke, Nasr & Jagielski 2023, "Privacy Auditing with
One (1) Training Run", arXiv:2305.08846, Theorem 3.1 and their Algorithm's p-value with delta).

m canaries are each included independently with probability 1/2. The auditor ranks them by a
score (higher: more likely trained on), guesses "in" for the k highest and "out" for the k lowest,
and abstains on the rest: r = 2k guesses, v of them correct. If training is (epsilon, delta)-DP,
v is stochastically dominated by Binomial(r, e^eps / (1 + e^eps)) up to a delta term, so

    P[v correct] <= P[Bin(r, q) >= v] + 2 m delta max_i P[v > Bin(r, q) >= v - i] / i.

The lower bound at confidence 1 - beta is the largest epsilon whose p-value is still below beta:
an algorithm with a smaller epsilon would show this many correct guesses with probability below
beta. Several k are tried, each at beta / (number of k) (Bonferroni), so the reported maximum keeps
the stated confidence. Tests: tests/audit/test_one_run.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

GUESS_FRACTIONS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2)  # k / m per side, fixed before scoring


@dataclass(frozen=True)
class OneRunBound:
    epsilon: float  # the lower bound (0: nothing shown)
    confidence: float  # 1 - beta, Bonferroni included
    guesses: int  # r at the k that gave the bound
    correct: int  # v at that k
    canaries: int  # m


def p_value(*, canaries: int, guesses: int, correct: int, epsilon: float, delta: float) -> float:
    """P[at least `correct` of `guesses` right] under an (epsilon, delta)-DP null hypothesis."""
    if not 0 <= correct <= guesses <= canaries:
        raise ValueError("need 0 <= correct <= guesses <= canaries")
    q = float(special.expit(epsilon))  # accuracy of epsilon-DP randomised response
    beta = float(stats.binom.sf(correct - 1, guesses, q))  # P[Bin(r, q) >= v]
    if delta == 0 or correct == 0:
        return beta
    shortfall = np.arange(1, correct + 1)  # i
    below = stats.binom.sf(correct - shortfall - 1, guesses, q) - beta  # P[v > Bin >= v - i]
    alpha = float(np.max(below / shortfall))
    return min(beta + alpha * delta * 2 * canaries, 1.0)


def epsilon_lower_bound(
    *, canaries: int, guesses: int, correct: int, delta: float, significance: float
) -> float:
    """The largest epsilon rejected at `significance` (0.0 when even epsilon 0 is not)."""

    def rejected_by(epsilon: float) -> float:  # > 0 while (epsilon, delta) is rejected
        p = p_value(
            canaries=canaries, guesses=guesses, correct=correct, epsilon=epsilon, delta=delta
        )
        return significance - p

    if rejected_by(0.0) <= 0:
        return 0.0
    low, high = 0.0, 1.0
    while rejected_by(high) > 0:  # p-value grows with epsilon, to 1 at infinity
        low, high = high, high * 2
    return float(optimize.brentq(rejected_by, low, high, xtol=1e-9))


def guesses_at(scores: np.ndarray, included: np.ndarray, per_side: int) -> tuple[int, int]:
    """(r, v): "in" for the `per_side` highest scores, "out" for the `per_side` lowest."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    top, bottom = order[:per_side], order[len(order) - per_side :]
    correct = int(included[top].sum()) + int((~included[bottom]).sum())
    return 2 * per_side, correct


def one_run_bound(
    *, scores: np.ndarray, included: np.ndarray, delta: float, confidence: float = 0.95
) -> OneRunBound:
    """The lower bound over the fixed guess sizes, Bonferroni-corrected to `confidence`."""
    included = np.asarray(included, dtype=bool)
    m = len(included)
    sizes = sorted({max(1, int(m * f)) for f in GUESS_FRACTIONS if 2 * max(1, int(m * f)) <= m})
    if not sizes:
        return OneRunBound(0.0, confidence, 0, 0, m)
    significance = (1 - confidence) / len(sizes)
    best = OneRunBound(0.0, confidence, 0, 0, m)
    for per_side in sizes:
        r, v = guesses_at(scores, included, per_side)
        bound = epsilon_lower_bound(
            canaries=m, guesses=r, correct=v, delta=delta, significance=significance
        )
        if bound > best.epsilon or best.guesses == 0:
            best = OneRunBound(bound, confidence, r, v, m)
    return best
