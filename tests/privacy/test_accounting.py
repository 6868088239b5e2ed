import pytest

from strongroom.errors import PrivacyBudgetError
from strongroom.privacy.accounting import cross_checked, pld_epsilon_of, prv_epsilon


def test_both_accountants_match_published_values_and_agree():
    history = [(1.5, 0.04, 2250)]  # Opacus' test point: PRV 6.78 (RDP would say 7.33)
    prv, pld = cross_checked(history, 1e-5)
    assert prv == pytest.approx(6.78, abs=0.02) and pld == pytest.approx(6.77, abs=0.02)


def test_a_split_history_composes_to_the_same_epsilon():
    whole = [(1.1, 0.01, 300)]
    split = [(1.1, 0.01, 120), (1.1, 0.01, 180)]  # e.g. a run resumed by hand
    assert pld_epsilon_of(split, 1e-6) == pytest.approx(pld_epsilon_of(whole, 1e-6), rel=1e-3)
    assert prv_epsilon(split, 1e-6) == pytest.approx(prv_epsilon(whole, 1e-6), rel=1e-2)


def test_disagreement_beyond_the_tolerance_is_an_error():
    with pytest.raises(PrivacyBudgetError, match="accountants disagree"):
        cross_checked([(1.5, 0.04, 2250)], 1e-5, tolerance=0.0)
    assert cross_checked([], 1e-5) == (0.0, 0.0)
