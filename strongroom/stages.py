"""The pipeline's stages as plain functions over directories: what each KFP component calls.

Each takes input directories and parameters, writes into its output directory, and returns a small
dict of counts (never a record value) that the component exposes as metadata.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from strongroom.corpus import build as corpus_build
from strongroom.records import deidentify as deid
from strongroom.records import ingest as ing
from strongroom.records import validate as val
from strongroom.records.contract import load_contract
from strongroom.records.io import read_json, write_json
from strongroom.records.readers import ReadOptions

log = logging.getLogger(__name__)
CHECKPOINT = "model.pt"
TRAIN_JSON = "train_report.json"
EVAL_JSON = "eval_report.json"
STAGING = "staging"


def ingest_stage(
    source: str,
    contract: str,
    out_dir: str,
    *,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    format: str | None = None,
) -> dict[str, Any]:
    options = ReadOptions(encoding=encoding, delimiter=delimiter or None, format=format or None)
    result = ing.ingest(source, load_contract(contract), out_dir, options=options)
    return {"rows_in": result.rows_in, "rows_quarantined": result.rows_quarantined}


def validate_stage(ingest_dir: str, contract: str, out_dir: str) -> dict[str, Any]:
    result = val.validate(Path(ingest_dir) / ing.RECORDS_FILE, load_contract(contract), out_dir)
    manifest = read_json(Path(ingest_dir) / ing.MANIFEST_FILE)
    report = {
        **result.report,
        "source_rows_in": manifest["rows_in"],
        "ingest_rows_quarantined": manifest["rows_quarantined"],
        "source_sha256": manifest["source_sha256"],
        "sources": manifest["sources"],
    }
    write_json(Path(out_dir) / val.REPORT_JSON, report)
    return {k: report[k] for k in ("rows_in", "rows_ok", "rows_quarantined", "success")}


def deidentify_stage(
    validate_dir: str,
    contract: str,
    key_file: str,
    out_dir: str,
    *,
    shard: int = 0,
    shards: int = 1,
    processes: int = 1,
) -> dict[str, Any]:
    # With several shards the key was made before the fan-out (shards.plan_shards).
    key = deid.load_key(key_file or None, create=shards == 1)
    result = deid.deidentify(
        Path(validate_dir) / val.VALIDATED_FILE,
        load_contract(contract),
        out_dir,
        key=key,
        shard=shard,
        shards=shards,
        processes=processes,
    )
    return {
        "identifiers_removed": result.identifiers_removed,
        "residual": result.residual_identifiers,
    }


def corpus_stage(
    deid_dir: str, contract: str, out_dir: str, *, max_seq_len: int, eval_fraction: float
) -> dict[str, Any]:
    result = corpus_build.build_corpus(
        Path(deid_dir) / deid.DEIDENTIFIED_FILE,
        load_contract(contract),
        out_dir,
        max_seq_len=max_seq_len,
        eval_fraction=eval_fraction,
    )
    return {"units_train": result.units_train, "units_eval": result.units_eval}


def train_stage(
    corpus_dir: str,
    out_dir: str,
    *,
    model_preset: str,
    target_epsilon: float,
    delta: float,
    batch_size: int,
    epochs: float,
    max_grad_norm: float,
    learning_rate: float,
    seed: int,
    physical_batch_size: int = 0,
    checkpoint_dir: str = "",
    secure_mode: bool = False,
) -> dict[str, Any]:
    """DP-train on the corpus; `checkpoint_dir` (a volume that outlives the pod) makes it resumable."""
    from dataclasses import replace

    from strongroom.model.config import preset
    from strongroom.privacy.plan import make_plan
    from strongroom.training.dp_sgd import TrainSettings, save_checkpoint, train_dp
    from strongroom.training.parts import rank_and_world

    tokens = np.load(Path(corpus_dir) / corpus_build.TRAIN_FILE)
    cfg = replace(preset(model_preset), max_seq_len=int(tokens.shape[1]))
    plan = make_plan(
        target_epsilon=target_epsilon,
        delta=delta,
        units=len(tokens),
        batch_size=batch_size,
        epochs=epochs,
        max_grad_norm=max_grad_norm,
    )
    log.info(
        "DP plan: sigma %.4f, q %.5f, %d steps",
        plan.noise_multiplier,
        plan.sampling_rate,
        plan.steps,
    )
    settings = TrainSettings(
        learning_rate=learning_rate,
        seed=seed,
        secure_mode=secure_mode,
        physical_batch_size=physical_batch_size or None,
        state_dir=checkpoint_dir or None,
    )
    result = train_dp(tokens, cfg, plan, settings)
    if rank_and_world()[0] != 0:  # under torchrun, rank 0 writes the model and the report
        return {"epsilon": result.epsilon, "steps": result.steps}
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    save_checkpoint(str(Path(out_dir) / CHECKPOINT), result, plan)
    report = {
        "privacy": result.privacy(plan),
        "model": {
            "preset": model_preset,
            "parameters": result.model.num_parameters(),
            **cfg.to_dict(),
        },
        "train": {
            "learning_rate": learning_rate,
            "seed": seed,
            "seconds": round(result.seconds, 2),
            "resumed_from_step": result.resumed_from,
            "physical_batch_size": physical_batch_size or None,
            "secure_mode": secure_mode,
        },
        "steps": result.log.to_dict(),  # per step: loss, batch size, clip fraction; epsilon
    }
    write_json(Path(out_dir) / TRAIN_JSON, report)
    return {"epsilon": result.epsilon, "epsilon_pld": result.epsilon_pld, "steps": result.steps}


def evaluate_stage(model_dir: str, corpus_dir: str, out_dir: str) -> dict[str, Any]:
    from strongroom.training.dp_sgd import load_checkpoint
    from strongroom.training.evaluate import held_out_loss

    model, _ = load_checkpoint(str(Path(model_dir) / CHECKPOINT))
    metrics = held_out_loss(model, np.load(Path(corpus_dir) / corpus_build.EVAL_FILE))
    write_json(Path(out_dir) / EVAL_JSON, metrics)
    return metrics
