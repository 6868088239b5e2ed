"""`Facts`: one definition of every fact a run records, read by the card, the MLflow tags, the
policies and the summary as attributes (or by dotted name: `privacy.epsilon`).

A policy naming a fact that is not defined here is rejected when it loads (governance/gate.py).
Facts are counts, parameters and fingerprints: never a record value.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from strongroom.privacy.mechanism import Epsilons, Mechanism
from strongroom.run_record.reports import (
    AuditReport,
    CorpusReport,
    DeidReport,
    EvalReport,
    ReferenceReport,
    TrainReport,
    ValidationReport,
)

# The reference's figures are published to this many decimals (nats per byte): they are exact
# statistics of a non-private model of the same people, so they say no more than the comparison
# needs (rounding limits, it does not bound, what they tell: docs/run_record.md).
REFERENCE_DECIMALS = 2


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrivacyFacts(_Group):
    epsilon: float  # reported: the larger of PRV and PLD for the steps taken
    epsilon_prv: float  # Opacus PRV accountant
    epsilon_pld: float  # dp_accounting PLD accountant
    accountant_gap: float  # |PRV - PLD| / min
    delta: float
    delta_times_units: float  # delta * N: policies want <= 0.1 (delta <= 1 / (10 N))
    unit_kind: str  # what the contract declares one unit is: person | account | record
    unit_name: str  # its name in the contract's domain: patient, customer, member
    unit_column: str  # the contract column that names it (informational only)
    target_epsilon: float
    noise_multiplier: float
    sampling_rate: float
    steps: int
    max_grad_norm: float
    units: int  # people in training: treated as public
    adjacency: str
    secure_rng: bool  # sampling and noise from the CSPRNG; false: seeded, not a DP release


class TrainFacts(_Group):
    stopped_early: bool  # SIGTERM or max_steps before the plan's last step
    resumed_from_step: int
    learning_rate: float
    seed: int | None  # set only in a seeded (not DP) run
    trained_by: str = ""  # the identity training sealed (identity.py); approval compares it


class ModelFacts(_Group):
    preset: str
    parameters: int
    sha256: str  # of the weights file sealed with the record


class ValidationFacts(_Group):
    success: bool
    rows_in: int
    rows_quarantined: int  # by ingest (unparseable) and validation (failing rows)


class DeidFacts(_Group):
    identifiers_removed: int
    residual_identifiers: int
    unit_values_merged: int  # raw unit ids that normalised onto another person's


class CorpusFacts(_Group):
    max_seq_len: int
    truncated: int  # persons whose history did not fit in sequences_per_person sequences
    units_train: int
    sequences_per_person: int = 1  # the cap; sampling and clipping stay per person whatever it is


class EvalFacts(_Group):
    loss: float  # exact statistic on held-out people: outside the DP guarantee
    perplexity: float
    units: int
    # share of the records the model writes (sampled freely) that parse into the contract's
    # columns, and that also pass its expectations: post-processing of the DP model
    records_parsed_share: float | None = None
    records_valid_share: float | None = None


class AuditFacts(_Group):
    """The privacy audit (strongroom/audit/run.py AuditResult, same names); None: not measured
    (no canaries planted, no held-out people, or a run registered without an audit)."""

    canaries: int | None = None  # fabricated persons planted, each trained on with probability 1/2
    epsilon_lower_bound: float | None = None  # one-run bound (Steinke et al. 2023)
    confidence: float | None = None  # of the lower bound and every interval
    guesses: int | None = None
    correct_guesses: int | None = None
    exposure_included: float | None = None  # mean bits over included canaries (Carlini 2019)
    exposure_excluded: float | None = None  # the same over excluded ones: the baseline
    exposure_max: float | None = None
    exposure_space_bits: float | None = None  # log2 of the number of possible secrets
    canaries_extracted: int | None = None  # included canaries whose secret greedy decoding gives
    mia_auc: float | None = None  # loss-threshold membership inference, training vs held-out
    mia_auc_low: float | None = None
    mia_auc_high: float | None = None
    mia_tpr_at_1pct_fpr: float | None = None
    mia_tpr_at_1pct_fpr_low: float | None = None
    mia_tpr_at_1pct_fpr_high: float | None = None
    mia_tpr_at_01pct_fpr: float | None = None
    mia_tpr_at_01pct_fpr_low: float | None = None
    mia_tpr_at_01pct_fpr_high: float | None = None
    memorised_exact_train: float | None = None  # prefix -> exact suffix, training persons
    memorised_near_train: float | None = None  # within 10% edit distance
    memorised_exact_heldout: float | None = None  # the same on held-out persons: the baseline
    memorised_near_heldout: float | None = None


class ReferenceFacts(_Group):
    """The same plan trained without privacy (training/reference.py); None: not trained. Not
    covered by the guarantee, not even DP: rounded to REFERENCE_DECIMALS."""

    loss: float | None = None  # held-out loss (per person, nats per byte) of the reference
    perplexity: float | None = None  # exp of its token-weighted held-out loss, rounded first
    loss_ratio: float | None = None  # eval.loss / reference.loss: what privacy cost
    steps: int | None = None  # the DP run's
    batch_size: int | None = None  # the DP plan's expected batch, fixed
    learning_rate: float | None = None  # its Adam rate (training.reference_learning_rate)
    records_parsed_share: float | None = None  # as EvalFacts, rounded
    records_valid_share: float | None = None


class InitFacts(_Group):
    """Where training started (tracking/public_model.py); all None: random initialisation.
    Starting weights trained on public text only cost no privacy: the accounting is unchanged."""

    model: str | None = None  # the public model's registered name
    version: str | None = None
    corpus: str | None = None  # its public corpus: icd10cm, mcc, file:NAME
    package: str | None = None  # the package that shipped the corpus ("" for a user's file)
    package_version: str | None = None
    corpus_sha256: str | None = None  # of the public text it was trained on
    weights_sha256: str | None = None  # of the starting weights


class DataFacts(_Group):
    contract: str
    sha256: str  # fingerprint of the records: the ledger's key


class LedgerFacts(_Group):
    cumulative_epsilon: float | None = None  # all registered runs on the same people, composed
    runs: int | None = None  # filled in by the gate from the ledger, not stored


class LineageFacts(_Group):
    """Where the model came from (run_record/lineage.py); empty in records older than it."""

    code_version: str | None = None  # package version + git commit ("-dirty": uncommitted edits)
    image: str | None = None  # the image registration ran in (none in a local run)
    kfp_run_id: str | None = None  # the Kubeflow run (none in a local run)
    contract_sha256: str | None = None  # the data contract as loaded


class Facts(_Group):
    privacy: PrivacyFacts
    train: TrainFacts
    model: ModelFacts
    validation: ValidationFacts
    deid: DeidFacts
    corpus: CorpusFacts
    eval: EvalFacts
    data: DataFacts
    audit: AuditFacts = AuditFacts()
    reference: ReferenceFacts = ReferenceFacts()
    init: InitFacts = InitFacts()
    ledger: LedgerFacts = LedgerFacts()
    lineage: LineageFacts = LineageFacts()

    def get(self, name: str) -> Any:
        """A fact by dotted name (`privacy.epsilon`); KeyError when it is not a fact."""
        group, _, field = name.partition(".")
        if name not in _names():
            raise KeyError(name)
        return getattr(getattr(self, group), field)

    def flat(self) -> dict[str, Any]:
        """Every fact by dotted name (the MLflow tags and the card's JSON)."""
        return {name: self.get(name) for name in _names()}

    @classmethod
    def from_flat(cls, flat: dict[str, Any]) -> Facts:
        nested: dict[str, dict[str, Any]] = {}
        for name, value in flat.items():
            group, _, field = name.partition(".")
            nested.setdefault(group, {})[field] = value
        return cls.model_validate(nested)


def fact_names() -> list[str]:
    """Every fact's dotted name."""
    return list(_names())


@cache
def _names() -> tuple[str, ...]:
    """Computed once: Facts.get and flat() ask for it per fact."""
    return tuple(
        f"{group}.{field}"
        for group, info in Facts.model_fields.items()
        for field in info.annotation.model_fields  # type: ignore[union-attr]
    )


def privacy_facts(
    evidence: dict[str, Any], *, unit_kind: str, unit_name: str, unit_column: str
) -> PrivacyFacts:
    """The privacy group, from training's sealed evidence only."""
    mechanism = Mechanism.from_dict(evidence["mechanism"])
    epsilons = Epsilons(**evidence["epsilons"])
    return PrivacyFacts(
        epsilon=epsilons.reported,
        epsilon_prv=epsilons.prv,
        epsilon_pld=epsilons.pld,
        accountant_gap=epsilons.gap,
        delta=mechanism.delta,
        delta_times_units=mechanism.delta * evidence["units"],
        unit_kind=unit_kind,
        unit_name=unit_name,
        unit_column=unit_column,
        target_epsilon=evidence["target_epsilon"],
        noise_multiplier=mechanism.noise_multiplier,
        sampling_rate=mechanism.sampling_rate,
        steps=mechanism.steps,
        max_grad_norm=evidence["max_grad_norm"],
        units=evidence["units"],
        adjacency=mechanism.adjacency,
        secure_rng=evidence["secure_rng"],
    )


def build_facts(
    *,
    unit: tuple[str, str, str],  # (kind, name, column) as the contract declares them
    validation: ValidationReport,
    deid: DeidReport,
    corpus: CorpusReport,
    train: TrainReport,
    evaluation: EvalReport,
    audit: AuditReport | None = None,
    reference: ReferenceReport | None = None,
) -> Facts:
    """The facts of a run; the audit's are read from its sealed evidence, verified by the
    caller (release.py) against training's."""
    evidence = train.evidence
    kind, name, column = unit
    return Facts(
        privacy=privacy_facts(evidence, unit_kind=kind, unit_name=name, unit_column=column),
        train=TrainFacts(
            stopped_early=evidence["stopped_early"],
            resumed_from_step=evidence["resumed_from_step"],
            learning_rate=train.learning_rate,
            seed=evidence["seed"],
            trained_by=evidence.get("trained_by", ""),
        ),
        model=ModelFacts(
            preset=train.model_preset, parameters=train.parameters, sha256=evidence["model_sha256"]
        ),
        validation=ValidationFacts(
            success=validation.success,
            rows_in=validation.source_rows_in,
            rows_quarantined=validation.rows_quarantined + validation.ingest_rows_quarantined,
        ),
        deid=DeidFacts(
            identifiers_removed=deid.identifiers_removed,
            residual_identifiers=deid.residual_identifiers,
            unit_values_merged=deid.unit_values_merged,
        ),
        corpus=CorpusFacts(
            max_seq_len=corpus.max_seq_len,
            truncated=corpus.truncated,
            units_train=corpus.units_train,
            sequences_per_person=corpus.sequences_per_person,
        ),
        eval=EvalFacts(
            loss=evaluation.loss,
            perplexity=evaluation.perplexity,
            units=evaluation.units,
            records_parsed_share=_share(evaluation.records_parsed, evaluation.records_written),
            records_valid_share=_share(evaluation.records_valid, evaluation.records_written),
        ),
        data=DataFacts(contract=validation.contract, sha256=validation.source_sha256),
        audit=AuditFacts(**audit.evidence["audit"]) if audit is not None else AuditFacts(),
        reference=reference_facts(reference, dp_loss=evaluation.loss),
        init=InitFacts(**(evidence.get("init") or {})),  # sealed by training
    )


def reference_facts(report: ReferenceReport | None, *, dp_loss: float) -> ReferenceFacts:
    """The reference's published figures: rounded, and the ratio of the DP model's held-out loss
    to it; all None when no reference was trained."""
    if report is None or not report.trained:
        return ReferenceFacts()
    assert report.loss is not None and report.token_loss is not None
    places = REFERENCE_DECIMALS
    return ReferenceFacts(
        loss=round(report.loss, places),
        perplexity=round(math.exp(round(report.token_loss, places)), places),
        loss_ratio=round(dp_loss / report.loss, places),
        steps=report.steps,
        batch_size=report.batch_size,
        learning_rate=report.learning_rate,
        records_parsed_share=_share(report.records_parsed, report.records_written, places),
        records_valid_share=_share(report.records_valid, report.records_written, places),
    )


def _share(part: int | None, whole: int | None, places: int = 4) -> float | None:
    if part is None or not whole:
        return None
    return round(part / whole, places)
