"""Training stages: DP-SGD training and held-out evaluation."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Model, Output
from strongroom.components import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def train_op(
    corpus: Input[Dataset],
    records: dict,
    privacy: dict,
    training: dict,
    release: dict,
    model: Output[Model],
):
    """DP-SGD (Opacus, Poisson over people, ghost clipping), noise calibrated to the target;
    what ran is sealed with the model."""
    import logging

    from strongroom.run_record.params import RunParams
    from strongroom.stages import train_stage

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    params = RunParams.model_validate(
        {"records": records, "privacy": privacy, "training": training, "release": release}
    )
    model.metadata.update(
        train_stage(
            corpus.path,
            model.path,
            contract=params.records.contract,
            privacy=params.privacy,
            training=params.training,
            seal_key_file=params.release.seal_key_file,
        )
    )


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def evaluate_op(
    model: Input[Model],
    corpus: Input[Dataset],
    evaluation: Output[Artifact],
    metrics: Output[Metrics],
):
    """Held-out loss and perplexity on people never used in training."""
    from strongroom.stages import evaluate_stage

    results = evaluate_stage(model.path, corpus.path, evaluation.path)
    for name, value in results.items():
        metrics.log_metric(name, value)
