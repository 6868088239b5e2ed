import pytest
from pydantic import ValidationError

from strongroom.errors import PrivacyBudgetError
from strongroom.privacy.plan import (
    EPSILON_MAX,
    EPSILON_MIN,
    PrivacyParams,
    make_plan,
    poisson_rate,
)


def test_plan_spends_at_most_the_target_and_uses_the_loader_rate():
    params = PrivacyParams(target_epsilon=2.0, delta=1e-5, batch_size=64, epochs=2)
    plan = make_plan(params, units=1000, privacy_unit="patient")
    assert plan.sampling_rate == poisson_rate(1000, 64) == 1 / 16
    assert plan.steps == 32
    assert 1.9 <= plan.planned_epsilon <= 2.0
    assert plan.planned_epsilon == plan.mechanism.epsilons().reported
    assert plan.mechanism.privacy_unit == "patient"


def test_plan_rejects_a_delta_too_large_for_the_people_and_a_batch_too_large():
    with pytest.raises(PrivacyBudgetError, match="below 1/units"):
        make_plan(PrivacyParams(delta=0.01), units=200, privacy_unit="patient")
    with pytest.raises(PrivacyBudgetError, match="batch size"):
        make_plan(PrivacyParams(batch_size=500), units=200, privacy_unit="patient")


@pytest.mark.parametrize("epsilon", [0, -1, float("nan"), float("inf")])
def test_privacy_params_refuse_a_budget_that_is_not_a_positive_number(epsilon):
    with pytest.raises(ValidationError):
        PrivacyParams(target_epsilon=epsilon)


def test_the_accepted_epsilon_range_is_inclusive_at_both_ends_and_refused_beyond():
    assert PrivacyParams(target_epsilon=EPSILON_MIN).target_epsilon == EPSILON_MIN
    assert PrivacyParams(target_epsilon=EPSILON_MAX).target_epsilon == EPSILON_MAX == 100
    for beyond in (EPSILON_MAX * 1.001, 1000, 1e9, EPSILON_MIN * 0.999):
        with pytest.raises(ValidationError, match="target_epsilon"):
            PrivacyParams(target_epsilon=beyond)
    assert "meaningless" in PrivacyParams.model_fields["target_epsilon"].description


def test_a_plan_at_the_largest_accepted_epsilon_spends_at_most_it():
    plan = make_plan(PrivacyParams(target_epsilon=EPSILON_MAX), units=2000, privacy_unit="p")
    assert plan.planned_epsilon <= EPSILON_MAX
