"""The train_and_gate pipeline: records in, a gated DP model version out.

Its parameters are the four groups of strongroom.run_record.params.RunParams, each one KFP struct
parameter; every component validates the groups it reads with the same models.
"""

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
from strongroom.components.training import audit_op, evaluate_op, train_op


@dsl.pipeline(
    name="strongroom-train-and-gate",
    description="Ingest, validate, de-identify, DP-train, evaluate, audit, register and gate a model.",
)
def train_and_gate(records: dict, privacy: dict, training: dict, release: dict) -> Artifact:
    ingested = ingest_op(records=records).set_display_name("ingest")
    validated = validate_op(ingested=ingested.outputs["ingested"], records=records)
    shard_numbers = deid_shards_op(records=records)
    with dsl.ParallelFor(shard_numbers.output) as shard:  # one pod a shard on Kubeflow
        shard_task = deidentify_op(
            validated=validated.outputs["validated"], records=records, shard=shard
        )
    deidentified = merge_deid_op(parts=dsl.Collected(shard_task.outputs["deidentified"]))
    corpus = corpus_op(deidentified=deidentified.outputs["deidentified"], records=records)
    trained = train_op(
        corpus=corpus.outputs["corpus"],
        records=records,
        privacy=privacy,
        training=training,
        release=release,
    )
    trained.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(1)
    evaluated = evaluate_op(model=trained.outputs["model"], corpus=corpus.outputs["corpus"])
    audited = audit_op(
        model=trained.outputs["model"], corpus=corpus.outputs["corpus"], release=release
    )
    registered = register_op(
        records=records,
        release=release,
        validated=validated.outputs["validated"],
        deidentified=deidentified.outputs["deidentified"],
        corpus=corpus.outputs["corpus"],
        model=trained.outputs["model"],
        evaluation=evaluated.outputs["evaluation"],
        audit=audited.outputs["audit"],
    )
    gate = gate_op(release=release, version=registered.outputs["version"])
    with dsl.If(gate.outputs["Output"] == True, name="gate-passed"):  # noqa: E712
        promote_op(release=release, version=registered.outputs["version"])
    return gate.outputs["decision"]  # the gate decision (JSON): rules, reasons, model URI
