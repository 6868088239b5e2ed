"""Training stages: DP-SGD training, held-out evaluation, the non-private reference and the
privacy audit."""

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

    from strongroom.lifetime import skip_collection_at_exit
    from strongroom.run_record.params import RunParams
    from strongroom.stages import train_stage

    skip_collection_at_exit()  # a fast exit: lifetime.py

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
            tracking_uri=params.release.tracking_uri,  # training.init_from's public model
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
    from strongroom.components import log_metrics

    from strongroom.lifetime import skip_collection_at_exit
    from strongroom.stages import evaluate_stage

    skip_collection_at_exit()  # a fast exit: lifetime.py

    log_metrics(metrics, evaluate_stage(model.path, corpus.path, evaluation.path))


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def audit_op(
    model: Input[Model],
    corpus: Input[Dataset],
    release: dict,
    audit: Output[Artifact],
    metrics: Output[Metrics],
):
    """Privacy audit of the trained model: canaries (one-run epsilon lower bound, exposure),
    membership inference and memorisation; sealed for the gate."""
    import logging

    from strongroom.components import log_metrics

    from strongroom.lifetime import skip_collection_at_exit
    from strongroom.run_record.params import ReleaseParams
    from strongroom.stages import audit_stage

    skip_collection_at_exit()  # a fast exit: lifetime.py

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    where = ReleaseParams.model_validate(release)
    results = audit_stage(model.path, corpus.path, audit.path, seal_key_file=where.seal_key_file)
    log_metrics(metrics, results)  # None: not measured (no canaries, no held-out people)


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def reference_op(
    model: Input[Model],
    corpus: Input[Dataset],
    privacy: dict,
    training: dict,
    reference: Output[Artifact],
):
    """With training.reference: the DP run's plan trained without privacy, its held-out loss
    (what privacy cost); its weights are never kept. Without: a report saying none was trained."""
    import logging

    from strongroom.lifetime import skip_collection_at_exit
    from strongroom.privacy.plan import PrivacyParams
    from strongroom.stages import reference_stage
    from strongroom.training.settings import TrainSettings

    skip_collection_at_exit()  # a fast exit: lifetime.py

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    reference.metadata.update(
        reference_stage(
            model.path,
            corpus.path,
            reference.path,
            training=TrainSettings.model_validate(training),
            batch_size=PrivacyParams.model_validate(privacy).batch_size,
        )
    )
