"""The pipeline's stages as plain functions over directories: what each KFP component calls.

Each takes input directories and parameters, writes into its output directory, and returns a small
dict of counts (never a record value) that the component exposes as metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from strongroom.corpus import build as corpus_build
from strongroom.deid import deidentify as deid
from strongroom.deid.engine import Engine
from strongroom.errors import TrainingInterrupted
from strongroom.privacy.plan import PrivacyParams
from strongroom.records import ingest as ing
from strongroom.records import validate as val
from strongroom.records.contract import load_contract
from strongroom.records.io import read_json
from strongroom.records.readers import ReadOptions
from strongroom.run_record.reports import CorpusReport, DeidReport, ValidationReport
from strongroom.training.settings import TrainSettings

if TYPE_CHECKING:  # imported where used: MLflow and torch only for the stages that need them
    import torch

    from strongroom.model.config import GemmaConfig
    from strongroom.tracking.public_model import StartingWeights

log = logging.getLogger(__name__)
CHECKPOINT = "model.pt"
CORPUS_CONTRACT = "contract.json"  # the contract the corpus was built under
INIT_CHECKPOINT = "init.pt"  # the public starting weights, for the reference (init_from only)
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
    report = ValidationReport.model_validate(
        {
            **result.report,
            "source_rows_in": manifest["rows_in"],
            "ingest_rows_quarantined": manifest["rows_quarantined"],
            "source_sha256": manifest["source_sha256"],
            "sources": manifest["sources"],
        }
    )
    report.write(out_dir)
    return {
        "rows_in": report.rows_in,
        "rows_ok": report.rows_ok,
        "rows_quarantined": report.rows_quarantined,
        "success": report.success,
    }


def deidentify_stage(
    validate_dir: str,
    contract: str,
    key_file: str,
    out_dir: str,
    *,
    split: deid.HeldOutSplit = deid.DEFAULT_SPLIT,
    shard: int = 0,
    shards: int = 1,
    processes: int = 0,
    engine: Engine = "fast",
) -> dict[str, Any]:
    # With several shards the key was made before the fan-out (shards.plan_shards).
    key = deid.load_key(key_file or None, create=shards == 1)
    result = deid.deidentify(
        Path(validate_dir) / val.VALIDATED_FILE,
        load_contract(contract),
        out_dir,
        key=key,
        split=split,
        shard=shard,
        shards=shards,
        processes=processes,
        engine=engine,
    )
    _carry_fingerprint(ValidationReport.load(validate_dir), DeidReport.load(out_dir), out_dir)
    return {
        "identifiers_removed": result.identifiers_removed,
        "residual": result.residual_identifiers,
    }


def corpus_stage(
    deid_dir: str,
    contract: str,
    out_dir: str,
    *,
    max_seq_len: int,
    canaries: int,
    sequences_per_person: int = 1,
) -> dict[str, Any]:
    loaded = load_contract(contract)
    result = corpus_build.build_corpus(
        Path(deid_dir) / deid.DEIDENTIFIED_FILE,
        loaded,
        out_dir,
        max_seq_len=max_seq_len,
        canaries=canaries,
        sequences_per_person=sequences_per_person,
    )
    # the evaluation checks the records the model writes against it (synthesis/format_check.py)
    (Path(out_dir) / CORPUS_CONTRACT).write_text(loaded.model_dump_json())
    _carry_fingerprint(DeidReport.load(deid_dir), CorpusReport.load(out_dir), out_dir)
    return {"units_train": result.units_train, "units_eval": result.units_eval}


def _carry_fingerprint(
    upstream: ValidationReport | DeidReport, report: DeidReport | CorpusReport, out_dir: str
) -> None:
    """The records' fingerprint travels with the data, so that training can seal which records
    it learnt from (the ledger's key)."""
    source = getattr(upstream, "source_sha256", "")
    report.model_copy(update={"source_sha256": source}).write(out_dir)


def train_stage(
    corpus_dir: str,
    out_dir: str,
    *,
    contract: str,
    privacy: PrivacyParams,
    training: TrainSettings,
    seal_key_file: str,
    tracking_uri: str = "",
) -> dict[str, Any]:
    """DP-train on the corpus and seal what ran; `training.checkpoint_dir` makes it resumable;
    `training.init_from` starts from a public model in the store at `tracking_uri`."""
    from dataclasses import replace

    from strongroom.corpus.sequences import sequences_per_person
    from strongroom.identity import current_identity
    from strongroom.model.config import preset
    from strongroom.privacy.plan import make_plan
    from strongroom.run_record.evidence import make_evidence
    from strongroom.run_record.reports import TrainReport
    from strongroom.run_record.seal import load_signing_key
    from strongroom.training.checkpoint import fingerprint_tokens
    from strongroom.training.dp_sgd import finish_state, save_checkpoint, train_dp
    from strongroom.training.parts import rank_and_world

    # Rank 0 alone signs (and makes the key when missing): ranks racing to create it would clash.
    key = load_signing_key(seal_key_file, create=True) if rank_and_world()[0] == 0 else None
    tokens = np.load(Path(corpus_dir) / corpus_build.TRAIN_FILE)
    cfg = replace(preset(training.model_preset), max_seq_len=int(tokens.shape[-1]))
    unit = load_contract(contract).unit_name
    plan = make_plan(privacy, units=len(tokens), privacy_unit=unit)
    # Several sequences a person change neither the unit nor the plan: one Poisson draw and one
    # clip of norm C a person, over the sum of their sequences' losses (training/step.py).
    log.info(
        "DP plan: sigma %.4f, q %.5f, %d steps, %s randomness, up to %d sequence(s) a %s",
        plan.noise_multiplier, plan.sampling_rate, plan.steps,
        "secure" if training.secure_rng else "SEEDED (not a DP release)",
        sequences_per_person(tokens), unit,
    )  # fmt: skip
    start = _starting_weights(training, cfg, tracking_uri, out_dir)
    initial = None if start is None else start.state_dict
    result = train_dp(tokens, cfg, plan, training, initial=initial)
    if result.interrupted:  # the pod or the run is going away: nothing to release, resume later
        raise TrainingInterrupted(
            f"training stopped by SIGTERM at step {result.steps} of {plan.steps}; its state is "
            f"{'saved: resume the run to continue' if training.checkpoint_dir else 'lost'}"
        )
    if rank_and_world()[0] == 0:  # under torchrun, rank 0 writes the model and the report
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        save_checkpoint(Path(out_dir) / CHECKPOINT, result)
        assert key is not None and result.mechanism is not None and result.epsilons is not None
        evidence = make_evidence(
            mechanism=result.mechanism, epsilons=result.epsilons,
            target_epsilon=plan.target_epsilon, max_grad_norm=plan.max_grad_norm,
            units=plan.units, seed=training.seed, stopped_early=result.stopped_early,
            resumed_from_step=result.resumed_from,
            data_sha256=CorpusReport.load(corpus_dir).source_sha256,
            corpus_sha256=fingerprint_tokens(tokens),
            model_file=Path(out_dir) / CHECKPOINT, trained_by=current_identity(), key=key,
            init=None if start is None else start.provenance,
        )  # fmt: skip
        TrainReport(
            evidence=evidence,
            model_preset=training.model_preset,
            parameters=result.model.num_parameters(),
            learning_rate=training.learning_rate,
            reference_learning_rate=training.reference_rate,
            clipping=training.clipping,
            mixed_precision=training.mixed_precision,
            seconds=round(result.seconds, 2),
            steps=result.log.to_dict(),  # per step: loss, batch size, clip fraction; epsilon
        ).write(out_dir)
    finish_state(training, completed=not result.stopped_early)
    return {"epsilon": result.epsilon, "steps": result.steps}


def _starting_weights(
    training: TrainSettings, cfg: GemmaConfig, tracking_uri: str, out_dir: str
) -> StartingWeights | None:
    """The checked public starting weights (tracking/public_model.py), None for a random start."""
    from strongroom.errors import StrongroomError
    from strongroom.tracking.public_model import starting_weights

    if training.init_from is None:
        return None
    if not tracking_uri:
        raise StrongroomError("training.init_from needs the MLflow store (release.tracking_uri)")
    log.info("starting from public model %s", training.init_from)
    with _init_file(out_dir) as into:
        return starting_weights(
            tracking_uri=tracking_uri, ref=training.init_from, config=cfg,
            preset=training.model_preset, into=into,
        )  # fmt: skip


@contextmanager
def _init_file(out_dir: str) -> Iterator[Path]:
    """Where the starting weights' file goes: beside rank 0's model, where the non-private
    reference reads it; other ranks keep the weights in memory only."""
    import tempfile

    from strongroom.training.parts import rank_and_world

    if rank_and_world()[0] == 0:
        yield Path(out_dir) / INIT_CHECKPOINT
        return
    with tempfile.TemporaryDirectory() as scratch:
        yield Path(scratch) / INIT_CHECKPOINT


def evaluate_stage(model_dir: str, corpus_dir: str, out_dir: str) -> dict[str, Any]:
    from strongroom.corpus.sequences import sequences_per_person
    from strongroom.run_record.reports import EvalReport
    from strongroom.training.dp_sgd import load_checkpoint
    from strongroom.training.evaluate import held_out_loss

    model = load_checkpoint(Path(model_dir) / CHECKPOINT)
    tokens = np.load(Path(corpus_dir) / corpus_build.EVAL_FILE)
    metrics = held_out_loss(model, tokens)  # per token over all of a person's sequences
    EvalReport(
        **metrics,
        sequences_per_person=sequences_per_person(tokens),
        **_records_written(model, corpus_dir),
    ).write(out_dir)
    return metrics


def _records_written(model: Any, corpus_dir: str) -> dict[str, int]:
    """What the model writes, checked against the corpus' contract (synthesis/format_check.py);
    nothing for a corpus written before the contract was kept beside it. The sampled records
    stay in a scratch directory: counts leave it, never a value."""
    import tempfile

    from strongroom.records.contract import Contract
    from strongroom.synthesis.format_check import sample_and_check

    path = Path(corpus_dir) / CORPUS_CONTRACT
    if not path.exists():
        return {}
    with tempfile.TemporaryDirectory() as scratch:
        shares = sample_and_check(model, Contract.model_validate_json(path.read_text()), scratch)
    log.info(
        "records written: %d of %d parse, %d pass the contract (%d persons sampled)",
        shares.parsed,
        shares.records,
        shares.valid,
        shares.persons,
    )
    return {
        "records_written": shares.records,
        "records_parsed": shares.parsed,
        "records_valid": shares.valid,
    }


def reference_stage(
    model_dir: str, corpus_dir: str, out_dir: str, *, training: TrainSettings, batch_size: int
) -> dict[str, Any]:
    """The DP run's plan trained without privacy (training/reference.py) when `training.reference`
    asks for it, and its held-out loss on the same held-out people; otherwise a report saying
    none was trained. Steps come from what the DP run sealed (a run stopped early is matched),
    the batch is the plan's expected one. The reference's weights are dropped here: only its
    report leaves the task, so it can never be registered or served."""
    from dataclasses import replace

    from strongroom.model.config import preset
    from strongroom.run_record.reports import ReferenceReport, TrainReport
    from strongroom.training.checkpoint import fingerprint_tokens
    from strongroom.training.evaluate import held_out_loss
    from strongroom.training.reference import train_reference

    if not training.reference:
        ReferenceReport(trained=False).write(out_dir)
        return {"trained": False}
    steps = int(TrainReport.load(model_dir).evidence["mechanism"]["steps"])
    tokens = np.load(Path(corpus_dir) / corpus_build.TRAIN_FILE)
    cfg = replace(preset(training.model_preset), max_seq_len=int(tokens.shape[-1]))
    log.info(
        "non-private reference: %d steps of %d people, no clipping, no noise", steps, batch_size
    )
    initial, init_sha256 = reference_start(model_dir)
    settings = training.model_copy(update={"learning_rate": training.reference_rate})
    result = train_reference(
        tokens, cfg, steps=steps, batch_size=batch_size, settings=settings, initial=initial
    )
    metrics = held_out_loss(result.model, np.load(Path(corpus_dir) / corpus_build.EVAL_FILE))
    ReferenceReport(
        trained=True,
        loss=metrics["loss"],
        token_loss=metrics["token_loss"],
        perplexity=metrics["perplexity"],
        units=int(metrics["units"]),
        steps=result.steps,
        batch_size=max(result.batch_sizes),
        learning_rate=training.reference_rate,
        model_preset=training.model_preset,
        corpus_sha256=fingerprint_tokens(tokens),
        seconds=round(result.seconds, 2),
        **_records_written(result.model, corpus_dir),
        init_weights_sha256=init_sha256,
    ).write(out_dir)
    return {"trained": True, "steps": result.steps}


def reference_start(model_dir: str) -> tuple[dict[str, torch.Tensor] | None, str | None]:
    """The DP run's starting weights as its evidence sealed them (state dict, sha256), or
    (None, None) when it started from random weights: the reference starts the same way."""
    from strongroom.errors import StrongroomError
    from strongroom.model.artifact import load_decoder
    from strongroom.run_record.reports import TrainReport
    from strongroom.run_record.seal import file_sha256

    init = TrainReport.load(model_dir).evidence.get("init")
    if init is None:
        return None, None
    path = Path(model_dir) / INIT_CHECKPOINT
    if not path.is_file() or file_sha256(path) != init["weights_sha256"]:
        raise StrongroomError(f"{path}: not the starting weights the DP run sealed")
    return load_decoder(path).state_dict(), init["weights_sha256"]


def audit_stage(
    model_dir: str, corpus_dir: str, out_dir: str, *, seal_key_file: str
) -> dict[str, Any]:
    """Audit the trained model on its canaries and people (strongroom/audit/run.py) and seal
    what it measured with the pipeline's key: the gate reads this, not anything editable."""
    import time
    from dataclasses import asdict

    from strongroom.audit.run import audit_model
    from strongroom.corpus.canaries import Canaries
    from strongroom.run_record.evidence import make_audit_evidence
    from strongroom.run_record.reports import AuditReport, TrainReport
    from strongroom.run_record.seal import load_signing_key, verified
    from strongroom.training.checkpoint import fingerprint_tokens
    from strongroom.training.dp_sgd import load_checkpoint

    key = load_signing_key(seal_key_file)
    trained = verified(
        TrainReport.load(model_dir).evidence, key.public_key(), what="training evidence"
    )
    started = time.monotonic()
    tokens = np.load(Path(corpus_dir) / corpus_build.TRAIN_FILE)
    result = audit_model(
        load_checkpoint(Path(model_dir) / CHECKPOINT),
        train_tokens=tokens,
        eval_tokens=np.load(Path(corpus_dir) / corpus_build.EVAL_FILE),
        canaries=Canaries.load(corpus_dir),
        delta=float(trained["mechanism"]["delta"]),
    )
    evidence = make_audit_evidence(
        audit=asdict(result), delta=float(trained["mechanism"]["delta"]),
        corpus_sha256=fingerprint_tokens(tokens), model_file=Path(model_dir) / CHECKPOINT, key=key,
    )  # fmt: skip
    AuditReport(evidence=evidence, seconds=round(time.monotonic() - started, 2)).write(out_dir)
    claimed = float(max(trained["epsilons"]["prv"], trained["epsilons"]["pld"]))
    if result.epsilon_lower_bound is not None and result.epsilon_lower_bound > claimed:
        log.error(
            "PRIVACY AUDIT: the empirical lower bound %.3f exceeds the claimed epsilon %.3f: "
            "the run leaks more than its guarantee says (noise or clipping not as recorded)",
            result.epsilon_lower_bound, claimed,
        )  # fmt: skip
    return {
        "epsilon_lower_bound": result.epsilon_lower_bound,
        "exposure_included": result.exposure_included,
        "mia_auc": result.mia_auc,
    }
