"""The train_and_gate pipeline: records in, a gated DP model version out."""

from kfp import dsl
from kfp.dsl import Artifact
from strongroom.components.records import (
    corpus_op,
    deid_shards_op,
    deidentify_op,
    ingest_op,
    merge_deid_op,
    validate_op,
)
from strongroom.components.release import gate_op, promote_op, register_op
from strongroom.components.training import evaluate_op, train_op


@dsl.pipeline(
    name="strongroom-train-and-gate",
    description="Ingest, validate, de-identify, DP-train, evaluate, register and gate a model.",
)
def train_and_gate(
    records_path: str,
    tracking_uri: str,
    key_file: str,
    contract: str = "hospital_encounters",
    policy: str = "hipaa",
    model_name: str = "strongroom-hospital",
    target_epsilon: float = 4.0,
    delta: float = 1e-5,
    model_preset: str = "demo",
    max_seq_len: int = 512,
    batch_size: int = 64,
    epochs: float = 3.0,
    max_grad_norm: float = 1.0,
    learning_rate: float = 2e-3,
    eval_fraction: float = 0.1,
    seed: int = 0,
    encoding: str = "utf-8",
    csv_delimiter: str = "",
    physical_batch_size: int = 0,
    checkpoint_dir: str = "",
    secure_mode: bool = False,
    deid_shards: int = 1,
) -> Artifact:
    ingested = ingest_op(
        source=records_path, contract=contract, encoding=encoding, delimiter=csv_delimiter
    ).set_display_name("ingest")
    validated = validate_op(ingested=ingested.outputs["ingested"], contract=contract)
    shard_numbers = deid_shards_op(key_file=key_file, shards=deid_shards)
    with dsl.ParallelFor(shard_numbers.output) as shard:  # one pod a shard on Kubeflow
        shard_task = deidentify_op(
            validated=validated.outputs["validated"],
            contract=contract,
            key_file=key_file,
            shard=shard,
            shards=deid_shards,
        )
    deidentified = merge_deid_op(parts=dsl.Collected(shard_task.outputs["deidentified"]))
    corpus = corpus_op(
        deidentified=deidentified.outputs["deidentified"],
        contract=contract,
        max_seq_len=max_seq_len,
        eval_fraction=eval_fraction,
    )
    trained = train_op(
        corpus=corpus.outputs["corpus"],
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
    trained.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(1)
    evaluated = evaluate_op(model=trained.outputs["model"], corpus=corpus.outputs["corpus"])
    registered = register_op(
        tracking_uri=tracking_uri,
        model_name=model_name,
        contract=contract,
        validated=validated.outputs["validated"],
        deidentified=deidentified.outputs["deidentified"],
        corpus=corpus.outputs["corpus"],
        model=trained.outputs["model"],
        evaluation=evaluated.outputs["evaluation"],
    )
    gate = gate_op(
        tracking_uri=tracking_uri,
        model_name=model_name,
        version=registered.outputs["version"],
        policy=policy,
    )
    with dsl.If(gate.outputs["Output"] == True, name="gate-passed"):  # noqa: E712
        promote_op(
            tracking_uri=tracking_uri,
            model_name=model_name,
            version=registered.outputs["version"],
            policy=policy,
        )
    return gate.outputs["decision"]  # the gate decision (JSON): rules, reasons, model URI
