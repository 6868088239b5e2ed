"""The train_and_gate pipeline: records in, a gated DP model version out.

Its parameters are the four groups of strongroom.run_record.params.RunParams, each one KFP struct
parameter; every component validates the groups it reads with the same models.

Caching is set on every task, never left to KFP's default (which an environment variable read at
import time decides). `train_and_gate` (compiled for Kubeflow) caches nothing: a cluster's cache
outlives the run, and a new extract at the same path, a new training run or a registration must
never be served from it. The local runner builds `build_pipeline(resumable=True)`: every task is
cached in the run directory's own cache, so `strongroom run --resume` skips the stages that
finished and reruns the one that failed (training then continues from its saved state).
"""

from typing import Any

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


def build_pipeline(*, resumable: bool) -> Any:
    """The pipeline, each task's caching set to `resumable`."""

    def step(task: Any) -> Any:
        return task.set_caching_options(enable_caching=resumable)

    @dsl.pipeline(
        name="strongroom-train-and-gate",
        description="Ingest, validate, de-identify, DP-train, evaluate, register and gate a model.",
    )
    def train_and_gate(records: dict, privacy: dict, training: dict, release: dict) -> Artifact:
        ingested = step(ingest_op(records=records)).set_display_name("ingest")
        validated = step(validate_op(ingested=ingested.outputs["ingested"], records=records))
        shard_numbers = step(deid_shards_op(records=records))
        with dsl.ParallelFor(shard_numbers.output) as shard:  # one pod a shard on Kubeflow
            shard_task = step(
                deidentify_op(
                    validated=validated.outputs["validated"], records=records, shard=shard
                )
            )
        deidentified = step(merge_deid_op(parts=dsl.Collected(shard_task.outputs["deidentified"])))
        corpus = step(corpus_op(deidentified=deidentified.outputs["deidentified"], records=records))
        trained = step(
            train_op(
                corpus=corpus.outputs["corpus"],
                records=records,
                privacy=privacy,
                training=training,
                release=release,
            )
        )
        trained.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(1)
        evaluated = step(
            evaluate_op(model=trained.outputs["model"], corpus=corpus.outputs["corpus"])
        )
        registered = step(
            register_op(
                records=records,
                release=release,
                validated=validated.outputs["validated"],
                deidentified=deidentified.outputs["deidentified"],
                corpus=corpus.outputs["corpus"],
                model=trained.outputs["model"],
                evaluation=evaluated.outputs["evaluation"],
            )
        )
        gate = step(gate_op(release=release, version=registered.outputs["version"]))
        with dsl.If(gate.outputs["Output"] == True, name="gate-passed"):  # noqa: E712
            step(promote_op(release=release, version=registered.outputs["version"]))
        return gate.outputs["decision"]  # the gate decision (JSON): rules, reasons, model URI

    return train_and_gate


train_and_gate = build_pipeline(resumable=False)
