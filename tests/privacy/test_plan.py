import pytest

from strongroom.errors import PrivacyBudgetError
from strongroom.privacy.plan import epsilon_for, make_plan, poisson_rate
from strongroom.privacy.pld import pld_epsilon

# Published Opacus test values: sigma 1.5, q 0.04, 2250 steps, delta 1e-5 -> PRV 6.78, RDP 7.33.
REFERENCE = {"noise_multiplier": 1.5, "sampling_rate": 0.04, "steps": 2250, "delta": 1e-5}


def test_accountants_match_published_values():
    assert epsilon_for(**REFERENCE) == pytest.approx(6.78, abs=0.01)
    assert epsilon_for(**REFERENCE, accountant="rdp") == pytest.approx(7.33, abs=0.01)
    assert pld_epsilon(**REFERENCE) == pytest.approx(6.78, abs=0.02)


def test_plan_spends_at_most_the_target_and_uses_the_loader_rate():
    plan = make_plan(
        target_epsilon=2.0, delta=1e-5, units=1000, batch_size=64, epochs=2, max_grad_norm=1.0
    )
    assert plan.sampling_rate == poisson_rate(1000, 64) == 1 / 16
    assert plan.steps == 32
    assert 1.95 <= plan.planned_epsilon <= 2.0
    assert plan.planned_epsilon == pytest.approx(plan.epsilon_after(plan.steps))


def test_plan_rejects_bad_budgets_with_every_reason():
    with pytest.raises(PrivacyBudgetError) as error:
        make_plan(
            target_epsilon=-1, delta=0.01, units=200, batch_size=500, epochs=1, max_grad_norm=1
        )
    message = str(error.value)
    assert "epsilon must be positive" in message
    assert "below 1/units" in message
    assert "batch size" in message
