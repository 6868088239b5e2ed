"""The exit handler of the compiled pipeline: record how the run ended, failures included."""

from kfp import dsl
from kfp.dsl import PipelineTaskFinalStatus
from strongroom.components import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def record_outcome_op(release: dict, status: PipelineTaskFinalStatus) -> str:
    """An MLflow run in `strongroom-pipeline-runs` with the KFP job and its final state."""
    from strongroom.run_record.params import ReleaseParams
    from strongroom.tracking.pipeline_runs import record_outcome

    where = ReleaseParams.model_validate(release)
    print(f"pipeline run {status.pipeline_job_resource_name}: {status.state}")
    return record_outcome(
        where.tracking_uri,
        job=status.pipeline_job_resource_name,
        task=status.pipeline_task_name,
        state=status.state,
        error_code=status.error_code,
    )
