"""The exit handler's record: every run's final state in MLflow, identifiers only."""

import pytest

from strongroom.tracking.pipeline_runs import RUNS_EXPERIMENT, record_outcome
from strongroom.tracking.registry import store_client

JOB = "projects/p/locations/l/pipelineJobs/strongroom-train-and-gate-20261130"


@pytest.mark.parametrize(
    ("state", "mlflow_status"),
    [("FAILED", "FAILED"), ("SUCCEEDED", "FINISHED"), ("CANCELLED", "KILLED"), ("??", "FAILED")],
)
def test_a_run_is_recorded_with_its_final_state(tmp_path, state, mlflow_status):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = record_outcome(uri, job=JOB, task="exit-handler-1", state=state, error_code=9)
    run = store_client(uri).get_run(run_id)
    experiment = store_client(uri).get_experiment(run.info.experiment_id)
    assert experiment.name == RUNS_EXPERIMENT and run.info.status == mlflow_status
    assert run.info.run_name == "strongroom-train-and-gate-20261130"
    tags = {k: v for k, v in run.data.tags.items() if k.startswith("kfp.")}
    assert tags == {
        "kfp.job": JOB,
        "kfp.reporting_task": "exit-handler-1",
        "kfp.state": state if state != "??" else "FAILED",
        "kfp.error_code": "9",
    }
    assert not run.data.params and not run.data.metrics
