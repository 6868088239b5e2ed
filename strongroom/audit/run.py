"""The audit of one trained model: every measure on its canaries and its people, as counts and
rates (never a secret, a record or a person's loss).

- one-run lower bound: canary scores are their negated mean loss (loss threshold), guesses on
  the included / excluded draw (one_run.py);
- exposure: the secret of each of the first EXPOSED canaries ranked among `candidates` random
  secrets with the same prefix (exposure.py), averaged over included and over excluded ones;
  canaries extracted: included canaries whose secret the model completes greedily, digit for
  digit (all of them);
- membership inference: training persons (canaries left out) against held-out persons
  (membership.py);
- memorisation: greedy completion of training and held-out persons' examples (memorisation.py),
  their first sequence when a person has several.
Tests: tests/audit/test_run.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from strongroom.audit import exposure, membership, memorisation, one_run, scoring
from strongroom.corpus.canaries import Canaries
from strongroom.corpus.sequences import as_persons
from strongroom.corpus.tokenizer import PAD
from strongroom.model.gemma import GemmaDecoder
from strongroom.training.evaluate import person_losses

CONFIDENCE = 0.95
CANDIDATES = 63  # random secrets per canary, to which the skew-normal is fitted
EXPOSED = 64  # canaries whose exposure is measured (the first ones; extraction: all of them)
MAX_MEMBERS = 5000  # training persons scored for membership inference (a uniform sample)
MEMORISATION_SAMPLES = 64  # persons per side completed greedily
_PREFIX, _SUFFIX = 64, 32  # memorisation: tokens given, tokens asked for (at most)


@dataclass(frozen=True)
class AuditResult:
    """The audit's facts (run_record/facts.py AuditFacts reads them by name)."""

    canaries: int
    epsilon_lower_bound: float | None  # None (with every canary measure) without canaries
    confidence: float
    guesses: int | None
    correct_guesses: int | None
    exposure_included: float | None  # mean bits, skew-normal extrapolation
    exposure_excluded: float | None
    exposure_max: float | None
    exposure_space_bits: float | None
    canaries_extracted: int | None  # included canaries whose secret greedy decoding reproduces
    mia_auc: float | None
    mia_auc_low: float | None
    mia_auc_high: float | None
    mia_tpr_at_1pct_fpr: float | None
    mia_tpr_at_1pct_fpr_low: float | None
    mia_tpr_at_1pct_fpr_high: float | None
    mia_tpr_at_01pct_fpr: float | None
    mia_tpr_at_01pct_fpr_low: float | None
    mia_tpr_at_01pct_fpr_high: float | None
    memorised_exact_train: float
    memorised_near_train: float
    memorised_exact_heldout: float
    memorised_near_heldout: float


def split_members(train_tokens: np.ndarray, canaries: Canaries) -> np.ndarray:
    """The real persons of train.npy: the included canaries are its last rows (corpus/build.py),
    checked, so that an audit never runs on a corpus that is not the one it planted."""
    planted = canaries.tokens[canaries.included]
    people = len(train_tokens) - len(planted)
    tail = as_persons(train_tokens[max(people, 0) :])  # [m, k, T]: a canary's first, PAD after
    if people < 0 or not np.array_equal(tail[:, 0], planted) or bool((tail[:, 1:] != PAD).any()):
        raise ValueError("the training tokens do not end with the included canaries")
    return train_tokens[:people]


def canary_exposures(
    model: GemmaDecoder, canaries: Canaries, *, candidates: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(extrapolated exposure of the first EXPOSED canaries, secret extracted by greedy
    decoding, for every canary [m]). The draw is independent of the order, so the first ones
    are a fair sample; exposure costs `candidates` + 1 sequences a canary, extraction one."""
    space_bits = canaries.secret_length * math.log2(len(canaries.alphabet))
    symbols = np.frombuffer(canaries.alphabet.encode(), dtype=np.uint8).astype(np.int64)
    length = canaries.secret_length
    prefixes = [canaries.tokens[i, : canaries.secret_start[i]] for i in range(canaries.count)]
    secrets = np.stack([
        canaries.tokens[i, start : start + length] for i, start in enumerate(canaries.secret_start)
    ]).astype(np.int64)[:, None]  # fmt: skip
    _, greedy = scoring.secret_scores(model, prefixes, secrets)  # [m, 1]
    exposed = min(EXPOSED, canaries.count)
    others = symbols[rng.integers(0, len(symbols), size=(exposed, candidates, length))]
    options = np.concatenate([secrets[:exposed], others], axis=1)  # [e, 1 + K, L]: secret first
    losses, _ = scoring.secret_scores(model, prefixes[:exposed], options)
    bits = [
        exposure.extrapolated_exposure(
            secret_loss=row[0], candidate_losses=row[1:], space_bits=space_bits
        )
        for row in losses
    ]
    return np.asarray(bits), greedy[:, 0]


def _membership(members: np.ndarray, nonmembers: np.ndarray) -> dict[str, float | None]:
    if len(members) == 0 or len(nonmembers) == 0:  # nothing to compare: not measured
        return {field: None for field in AuditResult.__dataclass_fields__ if "mia_" in field}
    value = membership.auc(members=members, nonmembers=nonmembers)
    interval = membership.auc_interval(
        value, members=len(members), nonmembers=len(nonmembers), confidence=CONFIDENCE
    )
    out: dict[str, float | None] = {
        "mia_auc": value,
        "mia_auc_low": interval.low,
        "mia_auc_high": interval.high,
    }
    for name, fpr in (("1pct", 0.01), ("01pct", 0.001)):
        rate = membership.tpr_at_fpr(
            members=members, nonmembers=nonmembers, fpr=fpr, confidence=CONFIDENCE
        )
        key = f"mia_tpr_at_{name}_fpr"
        out |= {key: rate.value, f"{key}_low": rate.low, f"{key}_high": rate.high}
    return out


def _completion_rates(
    model: GemmaDecoder, tokens: np.ndarray, pad_id: int
) -> memorisation.MatchRates:
    """Greedy completion of each example's start: suffix reproduced exactly / nearly (with
    several sequences a person, their first one)."""
    tokens = as_persons(tokens)[:, 0]  # [N, T]
    width = tokens.shape[1]
    prefix, suffix = min(_PREFIX, width // 4), min(_SUFFIX, width // 4)
    long_enough = tokens[(tokens != pad_id).sum(1) >= prefix + suffix][:MEMORISATION_SAMPLES]
    if len(long_enough) == 0:
        return memorisation.MatchRates(0.0, 0.0, 0)
    completions = scoring.greedy_completions(model, long_enough[:, :prefix], suffix)
    truths = long_enough[:, prefix : prefix + suffix].astype(np.int64)
    return memorisation.match_rates(completions.tolist(), truths.tolist())


def _canary_measures(
    model: GemmaDecoder,
    canaries: Canaries,
    *,
    delta: float,
    candidates: int,
    rng: np.random.Generator,
) -> dict[str, float | int | None]:
    canary_loss, _ = person_losses(model, canaries.tokens)
    bound = one_run.one_run_bound(
        scores=-canary_loss, included=canaries.included, delta=delta, confidence=CONFIDENCE
    )
    bits, extracted = canary_exposures(model, canaries, candidates=candidates, rng=rng)
    inside = canaries.included
    measured = inside[: len(bits)]
    return {
        "epsilon_lower_bound": bound.epsilon,
        "guesses": bound.guesses,
        "correct_guesses": bound.correct,
        "exposure_included": float(bits[measured].mean()) if measured.any() else None,
        "exposure_excluded": float(bits[~measured].mean()) if (~measured).any() else None,
        "exposure_max": float(bits.max()),
        "exposure_space_bits": canaries.secret_length * math.log2(len(canaries.alphabet)),
        "canaries_extracted": int(extracted[inside].sum()),
    }


_NO_CANARIES = dict.fromkeys(
    ("epsilon_lower_bound", "guesses", "correct_guesses", "exposure_included",
     "exposure_excluded", "exposure_max", "exposure_space_bits", "canaries_extracted"),
)  # fmt: skip


def audit_model(
    model: GemmaDecoder,
    *,
    train_tokens: np.ndarray,
    eval_tokens: np.ndarray,
    canaries: Canaries | None,
    delta: float,
    candidates: int = CANDIDATES,
    seed: int = 0,
) -> AuditResult:
    """Every measure of the audit; `seed` draws the candidate secrets and the members' sample
    (public randomness: neither is about any person)."""
    rng = np.random.default_rng(seed)
    if canaries is not None and canaries.count:
        people = split_members(train_tokens, canaries)
        planted = _canary_measures(model, canaries, delta=delta, candidates=candidates, rng=rng)
    else:
        people, planted = train_tokens, _NO_CANARIES
    sample = people[rng.permutation(len(people))[:MAX_MEMBERS]]
    member_loss, _ = person_losses(model, sample)
    heldout_loss, _ = person_losses(model, eval_tokens)
    train_rates = _completion_rates(model, sample, model.cfg.pad_id)
    heldout_rates = _completion_rates(model, eval_tokens, model.cfg.pad_id)
    return AuditResult(
        canaries=canaries.count if canaries is not None else 0,
        confidence=CONFIDENCE,
        **planted,  # type: ignore[arg-type]
        **_membership(-member_loss, -heldout_loss),
        memorised_exact_train=train_rates.exact,
        memorised_near_train=train_rates.near,
        memorised_exact_heldout=heldout_rates.exact,
        memorised_near_heldout=heldout_rates.near,
    )
