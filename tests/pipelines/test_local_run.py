"""The whole pipeline through the kfp local runner on a tiny dataset (about a minute on 2 cores)."""

import json

import mlflow
import pytest

from strongroom.errors import GateError
from strongroom.local_run import PipelineParams, run_local, summarize
from strongroom.records.demo import write_demo_records
from strongroom.release import gate_version, promote


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    records = write_demo_records(run_dir / "records.csv", 40, seed=3)
    params = PipelineParams(
        records_path=str(records), model_preset="tiny", max_seq_len=256, batch_size=8, epochs=1.0,
        target_epsilon=6.0, delta=1e-5, eval_fraction=0.2,
    )  # fmt: skip
    return run_local(params, run_dir), run_dir


def test_pipeline_registers_a_gated_version_with_alias_staging(pipeline_run):
    decision, run_dir = pipeline_run
    assert decision["passed"], decision
    client = mlflow.MlflowClient(tracking_uri=decision["tracking_uri"])
    mv = client.get_model_version(decision["model_name"], decision["version"])
    assert "staging" in mv.aliases
    assert json.loads(mv.tags["privacy.epsilon"]) <= 6.0
    assert json.loads(mv.tags["privacy.delta"]) == 1e-5
    assert mv.tags["privacy.unit"] == "patient_id"
    assert mv.tags["gate.hipaa"] == "passed"
    assert "Privacy guarantee" in mv.description
    assert (run_dir / "mlflow.db").exists()


def test_summary_reports_counts_privacy_and_gate(pipeline_run):
    decision, run_dir = pipeline_run
    text = summarize(decision, run_dir)
    for needle in ("rows in", "quarantined", "identifiers", "epsilon", "delta", "held-out",
                   "PASSED", "alias staging", "mlflow ui --backend-store-uri"):  # fmt: skip
        assert needle in text


def test_a_failing_policy_leaves_the_version_unpromoted(pipeline_run, tmp_path):
    decision, _ = pipeline_run
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "name: strict\nrules:\n  - {id: tiny_epsilon, fact: privacy.epsilon, op: '<=', value: 0.1}\n"
    )
    uri, name, version = decision["tracking_uri"], decision["model_name"], decision["version"]
    result = gate_version(uri, name, version, str(strict))
    assert not result["passed"] and result["rules"][0]["id"] == "tiny_epsilon"
    with pytest.raises(GateError, match="tiny_epsilon"):
        promote(uri, name, version, str(strict), alias="production")
    mv = mlflow.MlflowClient(tracking_uri=uri).get_model_version(name, version)
    assert "production" not in mv.aliases
