"""The loss law: its form, its fit and its file."""

import json

import numpy as np
import pytest

from strongroom.errors import StrongroomError
from strongroom.planning.law import LAW_FILE, LossLaw, fit, load_law, read_runs

TRUE = LossLaw(E=1.1, A=30.0, D=6.0, beta=0.6, b_noise=40.0, k=0.02)


def _runs(law: LossLaw) -> list[dict]:
    rows = []
    for params in (25_888, 127_680):
        for batch in (16, 64, 256, 1024):
            for steps in (12, 50, 200):
                for sigma in (0.3, 0.7, 2.0):
                    loss = float(law.predict(params, steps, batch, sigma))
                    rows.append({"params": params, "steps": steps, "batch_size": batch,
                                 "noise_multiplier": sigma, "loss": loss})  # fmt: skip
    return rows


def test_fit_recovers_the_coefficients_of_runs_made_by_a_known_law():
    law = fit(_runs(TRUE))
    assert law.provenance["rmse"] < 1e-3
    for name in ("E", "D", "beta", "b_noise", "k"):
        assert getattr(law, name) == pytest.approx(getattr(TRUE, name), rel=0.05), name


def test_more_noise_per_person_in_the_batch_predicts_a_higher_loss():
    loss = TRUE.predict(127_680, 100, np.array([64, 64, 256]), np.array([0.5, 2.0, 2.0]))
    assert loss[1] > loss[0] and loss[1] > loss[2]  # sigma up: worse; batch up: better


def test_non_private_runs_are_left_out_of_the_fit():
    runs = _runs(TRUE)
    clean = [{**run, "noise_multiplier": 0.0, "loss": 0.5} for run in runs[:5]]
    law = fit(runs + clean)
    assert law.provenance["non_private_left_out"] == 5 and law.provenance["rmse"] < 1e-3


def test_a_saved_law_loads_back_with_its_provenance(tmp_path):
    law = fit(_runs(TRUE), sources=["sweep.jsonl"])
    loaded = load_law(law.save(tmp_path / "law.json"))
    assert loaded == law and loaded.provenance["sources"] == ["sweep.jsonl"]


def test_the_packaged_law_says_what_it_was_fitted_on():
    law = load_law(LAW_FILE)
    assert law.provenance["runs"] >= 8 and law.provenance["corpora"]
    assert law.in_range(127_680) and not law.in_range(100_000_000)


def test_a_run_line_without_a_loss_is_named_by_file_and_line(tmp_path):
    runs = tmp_path / "runs.jsonl"
    line = {"params": 1, "steps": 1, "batch_size": 1, "noise_multiplier": 0.0}
    runs.write_text(json.dumps({**line, "loss": 2.0}) + "\n\n" + json.dumps(line) + "\n")
    with pytest.raises(StrongroomError, match=r"runs.jsonl:3: missing loss"):
        read_runs([runs])
    with pytest.raises(StrongroomError, match="at least"):
        fit([{**line, "loss": 2.0}])
