"""`strongroom sweep` on a tiny corpus: DP runs at two epsilons and the reference, one table,
three plots, one MLflow run (about a minute on 2 shared cores)."""

import csv
import json

import pytest

from strongroom.cli import main
from strongroom.demo.hospital import generate_encounters
from strongroom.tracking.registry import store_client
from strongroom.tracking.sweep_report import COLUMNS, SWEEP_EXPERIMENT

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    generate_encounters(40, seed=5).to_csv(root / "records.csv", index=False)
    config = root / "run.yaml"
    records = {"path": str(root / "records.csv"), "max_seq_len": 128, "eval_fraction": 0.2,
               "canaries": 16}  # fmt: skip
    settings = {
        "records": records,
        "privacy": {"delta": 1e-5, "batch_size": 8, "epochs": 1.0},
        "training": {"model_preset": "tiny"},
    }
    config.write_text(json.dumps(settings))  # JSON is YAML
    argv = ["sweep", str(config), "--epsilons", "2,8", "--reference"]
    code = main([*argv, "--workdir", str(root / "runs")])
    (run_dir,) = (root / "runs").iterdir()
    return code, run_dir


def test_the_table_has_one_row_per_epsilon_with_the_ratio_to_one_reference(swept, capsys):
    code, run_dir = swept
    assert code == 0
    with open(run_dir / "sweep.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(COLUMNS) and [r["epsilon"] for r in rows] == ["2", "8"]
    assert all(float(r["claimed"]) <= float(r["epsilon"]) for r in rows)
    assert float(rows[0]["sigma"]) > float(rows[1]["sigma"])  # more budget, less noise
    assert rows[0]["steps"] == rows[1]["steps"]  # one plan, one reference
    reference = json.loads((run_dir / "reference" / "reference_report.json").read_text())
    for row in rows:
        ratio = float(row["held_out_loss"]) / reference["loss"]
        assert float(row["loss_ratio"]) == pytest.approx(ratio, abs=0.006)  # rounded to 0.01
        assert row["audit_lower_bound"] != "-"  # canaries planted: audited
    log = (run_dir / "run.log").read_text()  # the stages' output, kept out of the terminal
    assert "DP run at target epsilon 8" in log and "non-private reference" in log
    printed = (run_dir / "sweep.txt").read_text()
    assert f"held-out loss {reference['loss']:.2f}" in printed and "not DP" in printed


def test_plots_are_pngs_beside_the_run_and_everything_is_in_one_mlflow_run(swept):
    _, run_dir = swept
    for name in ("loss_vs_epsilon.png", "audit_vs_epsilon.png", "epsilon_vs_step.png"):
        assert (run_dir / name).read_bytes()[:8] == PNG and (run_dir / name).stat().st_size > 5000
    client = store_client(f"sqlite:///{run_dir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(SWEEP_EXPERIMENT)
    (run,) = client.search_runs([experiment.experiment_id])
    logged = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert logged == {"sweep.csv", "sweep.txt", "loss_vs_epsilon.png", "audit_vs_epsilon.png",
                      "epsilon_vs_step.png"}  # fmt: skip
    assert run.data.params["epsilons"] == "2,8" and run.data.params["reference"] == "True"
    assert not client.search_registered_models()  # a sweep registers nothing


def test_bad_epsilons_and_options_are_named_together_before_anything_is_written(tmp_path, capsys):
    argv = ["sweep", "--epsilons", "1,abc,500", "--preset", "nope", "--workdir", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "3 problem(s)" in err and "training.model_preset" in err
    assert "'abc' is not a number" in err and "'500' is not a number" in err
    assert not list(tmp_path.iterdir())
