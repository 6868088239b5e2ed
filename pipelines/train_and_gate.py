"""The train_and_gate pipeline: records in, a gated DP model version out.

Its parameters are the four groups of strongroom.run_record.params.RunParams, each one KFP struct
parameter; every component validates the groups it reads with the same models.

Caching is set on every task, never left to KFP's default (which an environment variable read at
import time decides). `train_and_gate` (compiled for Kubeflow) caches nothing: a cluster's cache
outlives the run, and a new extract at the same path, a new training run or a registration must
never be served from it. The local runner builds `build_pipeline(resumable=True)`: every task is
cached in the run directory's own cache, so `strongroom run --resume` skips the stages that
finished and reruns the one that failed (training then continues from its saved state).

The compiled pipeline also carries its cluster wiring (pipelines/cluster.py: image, Secrets,
PVC, GPU node, requests and limits, timeouts, retry on train only) and an exit handler that
records how the run ended in MLflow; the local runner can apply neither, so the resumable
pipeline has neither. Shard planning, the first task, is the first to read the pseudonymisation
key: a missing key stops the run before a record is read.
"""

from typing import Any

from kfp import dsl
from kfp.dsl import Artifact
from strongroom.components.outcome import record_outcome_op
from strongroom.components.records import (
    corpus_op,
    deid_shards_op,
    deidentify_op,
    ingest_op,
    merge_deid_op,
    validate_op,
)
from strongroom.components.release import gate_op, register_op
from strongroom.components.training import audit_op, evaluate_op, reference_op, train_op
from strongroom.pipelines.cluster import wire
from strongroom.pipelines.cluster_settings import ClusterSettings

PIPELINE = {
    "name": "strongroom-train-and-gate",
    "description": "Ingest, validate, de-identify, DP-train, evaluate, audit, register and gate a "
    "model (with a non-private reference of the same plan when asked).",
}


def build_pipeline(*, resumable: bool, cluster: ClusterSettings | None = None) -> Any:
    """The pipeline, each task's caching set to `resumable`; the compiled (non-resumable) one
    wired for the cluster with `cluster` (default: ClusterSettings())."""
    settings = None if resumable else (cluster or ClusterSettings())

    def step(task: Any) -> Any:
        task.set_caching_options(enable_caching=resumable)
        return task if settings is None else wire(task, settings)

    def stages(records: dict, privacy: dict, training: dict, release: dict) -> Any:
        shard_numbers = step(deid_shards_op(records=records))  # first: checks the key
        ingested = step(ingest_op(records=records)).set_display_name("ingest")
        ingested.after(shard_numbers)
        validated = step(validate_op(ingested=ingested.outputs["ingested"], records=records))
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
        evaluated = step(
            evaluate_op(model=trained.outputs["model"], corpus=corpus.outputs["corpus"])
        )
        audited = step(
            audit_op(
                model=trained.outputs["model"], corpus=corpus.outputs["corpus"], release=release
            )
        )
        # Its own task, so that the DP run's sealed facts never depend on it; a no-op unless
        # training.reference asks for it (KFP cannot branch on a struct parameter's field).
        referenced = step(
            reference_op(
                model=trained.outputs["model"],
                corpus=corpus.outputs["corpus"],
                privacy=privacy,
                training=training,
            )
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
                audit=audited.outputs["audit"],
                reference=referenced.outputs["reference"],
            )
        )
        gate = step(gate_op(release=release, version=registered.outputs["version"]))  # + staging
        return gate.outputs["decision"]  # the gate decision (JSON): rules, reasons, model URI

    if settings is None:

        @dsl.pipeline(**PIPELINE)
        def train_and_gate(records: dict, privacy: dict, training: dict, release: dict) -> Artifact:
            return stages(records, privacy, training, release)

        return train_and_gate

    # KFP takes no pipeline output from inside an exit handler: on the cluster the gate's
    # decision is read from the gate task's `decision` artifact.
    @dsl.pipeline(**PIPELINE, pipeline_root=settings.pipeline_root)
    def train_and_gate_on_cluster(records: dict, privacy: dict, training: dict, release: dict):
        with dsl.ExitHandler(step(record_outcome_op(release=release)), name="record-outcome"):
            stages(records, privacy, training, release)

    return train_and_gate_on_cluster


train_and_gate = build_pipeline(resumable=False)
