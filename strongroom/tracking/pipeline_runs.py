"""Every Kubeflow run of the pipeline leaves a trace in MLflow, failed runs included.

The compiled pipeline's exit handler (components/outcome.py) calls `record_outcome` whatever
happened, so a run that failed before registration (a missing Secret, a quarantine-only extract,
a node lost for good) is still found where people look for models. Only KFP's own identifiers and
the state are written: a task's error message may quote what it was processing, so it stays in
the task's log. Test: tests/pipelines/test_outcome.py.
"""

from __future__ import annotations

RUNS_EXPERIMENT = "strongroom-pipeline-runs"
STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


def record_outcome(
    tracking_uri: str, job: str, task: str, state: str, error_code: int | None
) -> str:
    """An MLflow run in RUNS_EXPERIMENT tagged with the KFP job, the task that reported and the
    final state (FAILED / CANCELLED runs are marked FAILED / KILLED in MLflow); its run id."""
    from strongroom.tracking.registry import store_client

    client = store_client(tracking_uri)
    experiment = client.get_experiment_by_name(RUNS_EXPERIMENT)
    experiment_id = (
        experiment.experiment_id if experiment else client.create_experiment(RUNS_EXPERIMENT)
    )
    state = state if state in STATES else "FAILED"  # an unknown state is not a success
    run = client.create_run(
        experiment_id,
        run_name=job.rsplit("/", 1)[-1][:200] or "unnamed",
        tags={
            "kfp.job": job[:500],
            "kfp.reporting_task": task[:250],
            "kfp.state": state,
            "kfp.error_code": str(error_code if error_code is not None else ""),
        },
    )
    mlflow_status = {"SUCCEEDED": "FINISHED", "CANCELLED": "KILLED"}.get(state, "FAILED")
    client.set_terminated(run.info.run_id, status=mlflow_status)
    return str(run.info.run_id)
