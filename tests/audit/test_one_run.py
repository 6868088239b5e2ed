"""One-run lower bound: the p-value and the bound against hand-computed values."""

import math

import numpy as np
import pytest

from strongroom.audit.one_run import epsilon_lower_bound, guesses_at, one_run_bound, p_value


def test_p_value_without_delta_is_the_binomial_tail():
    # epsilon 0: each guess is a fair coin; 10 of 10 right has probability 2^-10
    assert p_value(canaries=10, guesses=10, correct=10, epsilon=0.0, delta=0.0) == pytest.approx(
        2**-10
    )
    # 1 of 2 right or better: 1 - 1/4
    assert p_value(canaries=4, guesses=2, correct=1, epsilon=0.0, delta=0.0) == pytest.approx(0.75)


def test_p_value_adds_the_delta_term():
    # r = v = 2, epsilon 0: beta = 1/4; P[2 > Bin >= 1] / 1 = 1/2, P[2 > Bin >= 0] / 2 = 3/8,
    # so alpha = 1/2 and p = 1/4 + 1/2 * delta * 2 m = 0.25 + 0.5 * 0.01 * 8 = 0.29
    assert p_value(canaries=4, guesses=2, correct=2, epsilon=0.0, delta=0.01) == pytest.approx(0.29)


def test_all_correct_guesses_give_the_closed_form_bound():
    # q^10 = 0.05 at the bound: q = 0.05^(1/10), epsilon = ln(q / (1 - q)) = 1.0519...
    q = 0.05**0.1
    expected = math.log(q / (1 - q))
    bound = epsilon_lower_bound(canaries=10, guesses=10, correct=10, delta=0.0, significance=0.05)
    assert bound == pytest.approx(expected, abs=1e-6) and expected == pytest.approx(1.0519, 1e-4)


def test_chance_level_guesses_and_delta_weaken_the_bound():
    assert (
        epsilon_lower_bound(canaries=100, guesses=50, correct=25, delta=0, significance=0.05) == 0
    )
    strict = epsilon_lower_bound(canaries=100, guesses=50, correct=50, delta=0, significance=0.05)
    loose = epsilon_lower_bound(canaries=100, guesses=50, correct=50, delta=1e-3, significance=0.05)
    assert 0 < loose < strict


def test_guesses_take_the_highest_as_in_and_the_lowest_as_out():
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.5, 0.4])
    included = np.array([True, False, False, False, True, True])
    # top 2: rows 0 (in, right) and 2 (out, wrong); bottom 2: rows 3 and 1 (both out, right)
    assert guesses_at(scores, included, 2) == (4, 3)


def test_perfect_separation_of_many_canaries_gives_a_large_bound_and_random_scores_none():
    rng = np.random.default_rng(0)
    included = rng.random(1000) < 0.5
    leak = one_run_bound(scores=included.astype(float) + rng.random(1000) * 0.1,
                         included=included, delta=1e-5)  # fmt: skip
    assert leak.correct == leak.guesses >= 500 and leak.epsilon > 4  # delta caps it near 4.6
    assert leak.confidence == 0.95 and leak.canaries == 1000
    blind = one_run_bound(scores=rng.random(1000), included=included, delta=1e-5)
    assert blind.epsilon < 0.5
