"""The rate rule, and the law fitted on each swept shape at its best rate."""

import pytest

from strongroom.planning.law import LossLaw, best_of_rates, fit
from strongroom.planning.rates import RateRule, fit_rate_rule

TRUE = LossLaw(E=1.1, A=30.0, D=6.0, beta=0.6, b_noise=40.0, k=0.02)
RATES = (0.005, 0.01, 0.02, 0.04, 0.08)


def _best_rate(steps: int) -> float:
    """The rate a known rule says suits `steps`, snapped to the tried ones."""
    want = 0.4 * steps**-0.5
    return min(RATES, key=lambda r: abs(r - want))


def _swept(law: LossLaw) -> list[dict]:
    """Every shape at every tried rate: the law's loss at the best one, worse elsewhere."""
    rows = []
    for params in (25_888, 127_680):
        for batch in (16, 64, 256):
            for steps in (12, 50, 200, 800):
                for sigma in (0.5, 2.0):
                    loss = float(law.predict(params, steps, batch, sigma))
                    best = _best_rate(steps)
                    for rate in RATES:
                        rows.append({"params": params, "steps": steps, "batch_size": batch,
                                     "noise_multiplier": sigma, "learning_rate": rate,
                                     "loss": loss + (0.0 if rate == best else 0.3)})  # fmt: skip
    return rows


def test_the_law_is_fitted_on_each_shapes_best_rate_and_plans_that_rate():
    runs = _swept(TRUE)
    law = fit(runs)
    assert law.provenance["rmse"] < 1e-3  # the worse rates did not pull the fit up
    assert law.provenance["shapes"] == len(runs) // len(RATES)
    assert law.provenance["learning_rates"] == list(RATES)
    for name in ("E", "D", "beta", "b_noise", "k"):
        assert getattr(law, name) == pytest.approx(getattr(TRUE, name), rel=0.05), name
    assert law.learning_rate is not None
    for steps in (12, 50, 200, 800):
        assert law.learning_rate.rate(steps) == pytest.approx(_best_rate(steps), rel=0.35)


def test_a_repeat_or_another_rate_of_one_shape_keeps_the_lowest_loss():
    shape = {"params": 1, "batch_size": 8, "steps": 10, "noise_multiplier": 1.0}
    runs = [{**shape, "loss": 2.0, "learning_rate": 0.01}, {**shape, "loss": 1.5,
            "learning_rate": 0.03}, {**shape, "noise_multiplier": 2.0, "loss": 3.0}]  # fmt: skip
    best = best_of_rates(runs)
    assert [run["loss"] for run in best] == [1.5, 3.0]


def test_rates_are_planned_only_within_the_tried_range_at_two_figures():
    rule = RateRule(coef=0.4, exponent=0.5, low=0.01, high=0.06)
    assert rule.rate(1) == 0.06 and rule.rate(10_000) == 0.01
    assert rule.rate(100) == 0.04 and rule.rate(300) == 0.023


def test_one_tried_rate_or_one_step_count_teaches_no_rule():
    runs = [{"steps": 50, "learning_rate": 0.01}, {"steps": 100, "learning_rate": 0.01}]
    assert fit_rate_rule(runs, [0.01]) is None
    assert fit_rate_rule(runs[:1] * 2, [0.01, 0.03]) is None
    assert fit_rate_rule(runs, [0.01, 0.03]) == RateRule(coef=0.01, exponent=0.0, low=0.01,
                                                         high=0.03)  # fmt: skip


def test_the_packaged_law_is_what_its_stored_sweep_refits_to(tmp_path, capsys):
    """`strongroom plan --fit` on the runs law.json names as its source gives law.json back:
    the coefficients shipped are the sweep's, not edited by hand."""
    from pathlib import Path

    from strongroom.cli import main
    from strongroom.planning.law import LAW_FILE, load_law

    packaged = load_law(LAW_FILE)
    (source,) = packaged.provenance["sources"]
    root = Path(__file__).parents[2]
    out = tmp_path / "law.json"
    assert main(["plan", "--fit", str(root / source), "--law", str(out)]) == 0
    refitted = load_law(out)
    assert refitted.learning_rate == packaged.learning_rate
    for name in ("E", "A", "D", "beta", "b_noise", "k"):
        assert getattr(refitted, name) == pytest.approx(getattr(packaged, name), rel=1e-6, abs=1e-9)
    assert "Adam's rate planned as" in capsys.readouterr().out
