"""Evidence: what training sealed, and the check the gate runs on a registered version.

Training writes `evidence` (the mechanism that ran, its epsilons, whether its randomness was
secure, fingerprints of the corpus and of the weights) and seals it. Registration puts the facts
and that evidence into one sealed run record inside the model artifact. The gate trusts only
what verifies: the record's seal, the evidence's seal, the weights' fingerprint; it recomputes
epsilon from the sealed mechanism with both accountants; and a version tag that differs from the
record fails the gate ("tags disagree with the model's record"). Tests:
tests/run_record/test_evidence.py and tests/pipelines/test_local_run.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from strongroom.privacy.mechanism import Epsilons, Mechanism
from strongroom.run_record.facts import Facts
from strongroom.run_record.seal import SealError, file_sha256, seal, verified

RECORD_FILE = "run_record.json"
TAMPERED = "tags disagree with the model's record"


def make_evidence(
    *,
    mechanism: Mechanism,
    epsilons: Epsilons,
    target_epsilon: float,
    max_grad_norm: float,
    units: int,
    seed: int | None,
    stopped_early: bool,
    resumed_from_step: int,
    corpus_sha256: str,
    model_file: str | Path,
    key: Ed25519PrivateKey,
) -> dict[str, Any]:
    """Training's sealed account of what ran."""
    return seal(
        {
            "mechanism": mechanism.to_dict(),
            "epsilons": {"prv": epsilons.prv, "pld": epsilons.pld, "delta": epsilons.delta},
            "target_epsilon": target_epsilon,
            "max_grad_norm": max_grad_norm,
            "units": units,
            "seed": seed,
            "secure_rng": seed is None,
            "stopped_early": stopped_early,
            "resumed_from_step": resumed_from_step,
            "corpus_sha256": corpus_sha256,
            "model_sha256": file_sha256(model_file),
        },
        key,
    )


def make_record(facts: Facts, evidence: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """Registration's sealed run record: the facts and training's (still sealed) evidence."""
    verified(evidence, key.public_key(), what="training evidence")
    return seal({"facts": facts.flat(), "evidence": evidence}, key)


def tag_value(value: Any) -> str:
    """How a fact is written as an MLflow tag: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class CheckedRecord:
    facts: Facts | None  # with epsilon recomputed; None when the record cannot be trusted
    mechanism: Mechanism | None
    problems: list[str] = field(default_factory=list)


def check_record(
    record: dict[str, Any], *, model_file: Path, tags: dict[str, str], key: Ed25519PublicKey
) -> CheckedRecord:
    """The facts the gate may use, or the reasons it may not."""
    try:
        body = verified(record, key, what="run record")
        evidence = verified(body["evidence"], key, what="training evidence")
    except (SealError, KeyError, TypeError) as error:
        return CheckedRecord(None, None, [str(error) if isinstance(error, SealError) else
                                          "run record is not in the expected form"])  # fmt: skip
    facts = Facts.from_flat(body["facts"])
    problems = []
    if file_sha256(model_file) != evidence["model_sha256"]:
        problems.append("model weights differ from the ones training sealed")
    edited = sorted(
        name for name, value in facts.flat().items() if tags.get(name) != tag_value(value)
    )
    if edited:
        problems.append(f"{TAMPERED}: {', '.join(edited)}")
    mechanism = Mechanism.from_dict(evidence["mechanism"])
    now = mechanism.epsilons()
    privacy = facts.privacy.model_copy(
        update={
            "epsilon": max(facts.privacy.epsilon, now.reported),
            "epsilon_prv": now.prv,
            "epsilon_pld": now.pld,
            "accountant_gap": now.gap,
        }
    )
    return CheckedRecord(facts.model_copy(update={"privacy": privacy}), mechanism, problems)
