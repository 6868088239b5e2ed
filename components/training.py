"""Training stages: DP-SGD training and held-out evaluation."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Model, Output
from strongroom.components import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def train_op(
    corpus: Input[Dataset],
    model_preset: str,
    target_epsilon: float,
    delta: float,
    batch_size: int,
    epochs: float,
    max_grad_norm: float,
    learning_rate: float,
    seed: int,
    physical_batch_size: int,
    checkpoint_dir: str,
    secure_mode: bool,
    model: Output[Model],
):
    """DP-SGD (Opacus, Poisson over people, ghost clipping), noise calibrated to the target."""
    import logging

    from strongroom.stages import train_stage

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    model.metadata.update(
        train_stage(
            corpus.path,
            model.path,
            model_preset=model_preset,
            target_epsilon=target_epsilon,
            delta=delta,
            batch_size=batch_size,
            epochs=epochs,
            max_grad_norm=max_grad_norm,
            learning_rate=learning_rate,
            seed=seed,
            physical_batch_size=physical_batch_size,
            checkpoint_dir=checkpoint_dir,
            secure_mode=secure_mode,
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
