"""`strongroom sweep`: what privacy costs across budgets, on one corpus.

The records go through the pipeline's own stages once (ingest, validate, de-identify, corpus with
canaries); then, for each target epsilon, DP training, held-out evaluation and the privacy audit
exactly as the pipeline runs them, and, with `reference`, one non-private reference of the plan
(the plan's steps and batch do not depend on epsilon, only its noise does). Nothing is registered
or served: the sweep's models stay in its run directory. The table and plots it writes are
tracking/sweep_report.py's.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.errors import StrongroomError
from strongroom.privacy.plan import EPSILON_MAX, EPSILON_MIN, PrivacyParams
from strongroom.run_record.facts import ReferenceFacts
from strongroom.run_record.params import RunParams
from strongroom.training.settings import TrainSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepRow:
    """One DP run of the sweep (no record value: parameters and aggregate statistics)."""

    target_epsilon: float
    epsilon: float  # reported: the larger of PRV and PLD for the steps taken
    sigma: float
    steps: int
    loss: float  # held-out, per person (nats per byte)
    perplexity: float
    loss_ratio: float | None  # / the reference's held-out loss, rounded as on the card
    lower_bound: float | None  # the audit's one-run empirical epsilon lower bound
    confidence: float | None  # of the lower bound
    # (step, epsilon spent) as the PRV accountant followed training: depends on no one's data
    epsilon_series: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class Sweep:
    rows: list[SweepRow]
    reference: ReferenceFacts  # rounded, as published (its loss_ratio: the first row's)
    units: int  # people in training (canaries included)
    preset: str
    batch_size: int


def parse_epsilons(text: str, base: PrivacyParams) -> tuple[list[PrivacyParams], list[str]]:
    """(one privacy group per epsilon of `text`, "1,2,4,8"; the problems, every bad value)."""
    groups, problems = [], []
    for item in (part.strip() for part in text.split(",")):
        try:
            groups.append(
                PrivacyParams.model_validate({**base.model_dump(), "target_epsilon": item})
            )
        except ValueError:  # pydantic's ValidationError is one
            problems.append(
                f"--epsilons: {item!r} is not a number from {EPSILON_MIN} to {EPSILON_MAX}"
            )
    return groups, problems


def build_corpus(params: RunParams, run_dir: Path) -> dict[str, str]:
    """The records through the pipeline's stages up to the corpus, once for the whole sweep."""
    from strongroom import stages
    from strongroom.deid.deidentify import HeldOutSplit

    records = params.records
    dirs = {name: str(run_dir / name) for name in ("ingest", "validate", "deid", "corpus")}
    stages.ingest_stage(
        records.path, records.contract, dirs["ingest"], encoding=records.encoding,
        delimiter=records.csv_delimiter or None,
    )  # fmt: skip
    stages.validate_stage(dirs["ingest"], records.contract, dirs["validate"])
    stages.deidentify_stage(
        dirs["validate"], records.contract, records.key_file or str(run_dir / "pseudonym.key"),
        dirs["deid"], split=HeldOutSplit(records.eval_fraction, records.split_seed),
        engine=records.deid_engine,
    )  # fmt: skip
    stages.corpus_stage(
        dirs["deid"], records.contract, dirs["corpus"], max_seq_len=records.max_seq_len,
        canaries=records.canaries, sequences_per_person=records.sequences_per_person,
    )  # fmt: skip
    return dirs


def run_sweep(
    params: RunParams, epsilons: list[PrivacyParams], *, reference: bool, run_dir: Path
) -> Sweep:
    """DP runs at each epsilon on one corpus, audited, and the reference when asked."""
    from strongroom.run_record.facts import reference_facts
    from strongroom.run_record.reports import CorpusReport, ReferenceReport
    from strongroom.stages import reference_stage

    dirs = build_corpus(params, run_dir)
    training = params.training.model_copy(update={"checkpoint_dir": None, "reference": reference})
    runs, model_dirs = [], []
    for privacy in epsilons:
        run, model_dir = _dp_run(params, privacy, training, dirs, run_dir)
        runs.append(run)
        model_dirs.append(model_dir)
    if len({run["steps"] for run in runs}) > 1:  # the plan's steps depend on q and epochs only
        raise StrongroomError("the sweep's runs took different numbers of steps: no one reference")
    ref = None
    if reference:
        out = str(run_dir / "reference")
        log.info("non-private reference of the plan")
        reference_stage(
            model_dirs[0], dirs["corpus"], out, training=training,
            batch_size=params.privacy.batch_size,
        )  # fmt: skip
        ref = ReferenceReport.load(out)
    rows = [
        SweepRow(**run, loss_ratio=reference_facts(ref, dp_loss=run["loss"]).loss_ratio)
        for run in runs
    ]
    return Sweep(
        rows=rows,
        reference=reference_facts(ref, dp_loss=rows[0].loss),
        units=CorpusReport.load(dirs["corpus"]).units_train,
        preset=training.model_preset,
        batch_size=params.privacy.batch_size,
    )


def _dp_run(
    params: RunParams,
    privacy: PrivacyParams,
    training: TrainSettings,
    dirs: dict[str, str],
    run_dir: Path,
) -> tuple[dict[str, Any], str]:
    """One epsilon: train, evaluate and audit as the pipeline does; (the row's figures but the
    ratio, the model's folder)."""
    from strongroom import stages
    from strongroom.release import epsilon_series
    from strongroom.run_record.reports import AuditReport, EvalReport, TrainReport

    name = f"eps{privacy.target_epsilon:g}"
    model_dir, eval_dir, audit_dir = (
        str(run_dir / f"{name}-{s}") for s in ("model", "eval", "audit")
    )
    key = params.release.seal_key_file or str(run_dir / "seal.key")
    log.info("DP run at target epsilon %g", privacy.target_epsilon)
    stages.train_stage(
        dirs["corpus"], model_dir, contract=params.records.contract, privacy=privacy,
        training=training, seal_key_file=key,
        tracking_uri=params.release.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", ""),
    )  # fmt: skip
    stages.evaluate_stage(model_dir, dirs["corpus"], eval_dir)
    stages.audit_stage(model_dir, dirs["corpus"], audit_dir, seal_key_file=key)
    evidence = TrainReport.load(model_dir).evidence
    audit = AuditReport.load(audit_dir).evidence["audit"]
    evaluation = EvalReport.load(eval_dir)
    figures = {
        "target_epsilon": privacy.target_epsilon,
        "epsilon": max(evidence["epsilons"]["prv"], evidence["epsilons"]["pld"]),
        "sigma": evidence["mechanism"]["noise_multiplier"],
        "steps": evidence["mechanism"]["steps"],
        "loss": evaluation.loss,
        "perplexity": evaluation.perplexity,
        "lower_bound": audit["epsilon_lower_bound"],
        "confidence": audit["confidence"],
        "epsilon_series": tuple(epsilon_series(TrainReport.load(model_dir))["train.epsilon_prv"]),
    }
    return figures, model_dir
