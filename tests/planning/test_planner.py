"""The planner's choices: the paper's direction from first principles, configs `run` accepts,
epsilons beyond what runs accept, and no torch on the way."""

import itertools
import subprocess
import sys
from dataclasses import replace

import pytest

from strongroom.errors import StrongroomError
from strongroom.planning.compute import budget_flops
from strongroom.planning.demo_plan import default_flops, demo_plan
from strongroom.planning.law import load_law
from strongroom.planning.planner import config_text, make_plan, table
from strongroom.planning.rates import RateRule
from strongroom.privacy.plan import poisson_rate
from strongroom.run_record.params import load_params


def _plan(epsilon: float, units: int = 1864, budget: float = 3.0e12):
    return make_plan(epsilon=epsilon, delta=1e-5, units=units, budget_flops=budget)


def test_the_chosen_plan_is_the_cheapest_within_the_tie_of_the_best_prediction():
    plan = _plan(4.0)
    best = plan.ranked[0].predicted_loss
    assert plan.chosen.predicted_loss <= best * 1.005
    assert all(c.flops <= plan.budget_flops for c in plan.ranked)
    near = [c for c in plan.ranked if c.predicted_loss <= best * 1.005]
    assert plan.chosen.flops == min(c.flops for c in near)


def test_the_written_config_loads_as_a_run_config_and_gives_back_the_planned_steps(tmp_path):
    plan = _plan(4.0)
    path = tmp_path / "plan.yaml"
    path.write_text(config_text(plan, records_path="/data/encounters.csv"))
    params = load_params(path)
    chosen = plan.chosen
    assert params.training.model_preset == chosen.preset
    assert params.privacy.batch_size == chosen.batch_size
    assert params.privacy.target_epsilon == 4.0 and params.records.max_seq_len == 512
    rate = poisson_rate(plan.units, params.privacy.batch_size)
    assert round(params.privacy.epochs / rate) == chosen.steps  # privacy/plan.py's rounding


def test_the_planned_rate_reaches_the_config_and_a_law_without_a_rule_leaves_the_default(
    tmp_path,
):
    from strongroom.training.settings import TrainSettings

    rule = RateRule(coef=0.3, exponent=0.5, low=0.01, high=0.06)
    rates = []
    for law in (replace(load_law(), learning_rate=rule), replace(load_law(), learning_rate=None)):
        plan = make_plan(epsilon=4.0, delta=1e-5, units=1864, budget_flops=3e12, law=law)
        path = tmp_path / "plan.yaml"
        path.write_text(config_text(plan, records_path="/data/encounters.csv"))
        written = load_params(path).training.learning_rate
        rates.append((plan.chosen.steps, plan.chosen.learning_rate, written))
    (steps, planned, written), (_, no_rule, default) = rates
    assert planned == written == rule.rate(steps) and 0.01 <= written <= 0.06
    assert no_rule is None and default == TrainSettings().learning_rate
    assert "default" in table(plan)  # the table says which rate the run will use


def test_above_epsilon_100_the_planner_answers_warns_and_writes_no_config():
    plan = _plan(1000.0)
    assert not plan.runnable and "not a meaningful guarantee" in plan.warnings[0]
    with pytest.raises(StrongroomError, match="no config written"):
        config_text(plan, records_path="x.csv")


@pytest.mark.parametrize(
    "kwargs",
    [{"epsilon": 0.01}, {"epsilon": 2000.0}, {"units": 10}, {"delta": 0.01}],
)
def test_invalid_questions_are_refused_with_one_message(kwargs):
    question = {"epsilon": 4.0, "delta": 1e-5, "units": 2000, "budget_flops": 1e12, **kwargs}
    with pytest.raises(StrongroomError):
        make_plan(**question)


def test_a_budget_too_small_for_any_model_says_so():
    with pytest.raises(StrongroomError, match="no plan fits"):
        _plan(4.0, budget=1e6)


def test_the_table_marks_the_chosen_plan():
    plan = _plan(4.0)
    lines = table(plan).splitlines()
    assert sum(line.startswith("*") for line in lines) == 1
    assert plan.chosen.preset in next(line for line in lines if line.startswith("*"))


def test_the_demo_plan_spends_the_default_plans_compute_at_most():
    plan = demo_plan(2000, epsilon=4.0, eval_fraction=0.1, canaries=128)
    assert plan.units == 1864
    assert plan.chosen.flops <= default_flops(1864, batch_size=64, epochs=3.0)


def test_planning_imports_neither_torch_nor_opacus():
    code = (
        "import sys; from strongroom.planning.planner import make_plan; "
        "make_plan(epsilon=2.0, delta=1e-6, units=50000, budget_flops=1e15); "
        "print(sorted(m for m in ('torch', 'opacus', 'scipy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_h100_hours_reach_bigger_models_than_cpu_hours():
    cpu = make_plan(epsilon=8.0, delta=1e-7, units=200_000,
                    budget_flops=budget_flops(gpu_hours=1, gpu="cpu"))  # fmt: skip
    gpu = make_plan(epsilon=8.0, delta=1e-7, units=200_000,
                    budget_flops=budget_flops(gpu_hours=1, gpu="h100"))  # fmt: skip
    assert gpu.chosen.flops > cpu.chosen.flops


FALLING = (64.0, 16.0, 4.0, 1.0, 0.25)
SETTINGS = [(1864, 3e13), (50_000, budget_flops(gpu_hours=1, gpu="h100"))]


@pytest.mark.parametrize(("units", "budget"), SETTINGS)
def test_as_epsilon_falls_the_planner_chooses_a_smaller_model(units, budget):
    """McKenna et al. 2025's direction, from our accountant and our law: a step's noise norm
    (sigma C sqrt(P) / B) grows with the model, and sigma grows as epsilon falls."""
    params = [make_plan(epsilon=e, delta=1e-6, units=units, budget_flops=budget).chosen.params
              for e in FALLING]  # fmt: skip
    assert params == sorted(params, reverse=True) and params[-1] < params[0]


@pytest.mark.parametrize(("units", "budget", "preset"), [(1864, 3e13, "demo"), (1864, 3e12, "tiny"),
                                                         (50_000, 1e16, "small")])  # fmt: skip
def test_as_epsilon_falls_the_planner_chooses_larger_batches_for_a_model(units, budget, preset):
    """For one model the noise-batch ratio sigma / B is what hurts: a larger sigma asks for a
    larger B. (Across a switch to a smaller model the batch may drop: less noise in all.)"""
    batches = [
        make_plan(
            epsilon=e, delta=1e-6, units=units, budget_flops=budget, presets=(preset,)
        ).chosen.batch_size
        for e in FALLING
    ]
    assert batches == sorted(batches) and batches[-1] > batches[0]


@pytest.mark.parametrize(("units", "budget", "preset"), [(1864, 3e13, "demo"), (1864, 3e12, "tiny"),
                                                         (50_000, 1e16, "demo")])  # fmt: skip
def test_as_epsilon_falls_a_model_is_trained_on_fewer_tokens_per_parameter(units, budget, preset):
    """For one model, a larger sigma makes a further pass over the people add noise faster than
    signal, so the plan stops earlier: fewer tokens per parameter. (Across a switch to a smaller
    model the ratio rises instead: at a fixed compute it grows as 1 / P^2. And where the budget,
    not the noise, ends the plan, the ratio is the budget's at every epsilon.) Plans are
    quantised (batch x2, steps x sqrt 2), hence the 10% allowance between neighbours."""
    chosen = [make_plan(epsilon=e, delta=1e-6, units=units, budget_flops=budget,
                        presets=(preset,)).chosen for e in FALLING]  # fmt: skip
    ratios = [c.tokens_per_parameter(512) for c in chosen]
    assert all(b <= a * 1.1 for a, b in itertools.pairwise(ratios))
    assert ratios[-1] < 0.9 * ratios[0] and chosen[-1].flops < chosen[0].flops
