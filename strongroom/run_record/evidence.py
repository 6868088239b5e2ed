"""Evidence: what training sealed, and the check the gate runs on a registered version.

Training writes `evidence` (the mechanism that ran, its epsilons, whether its randomness was
secure, fingerprints of the records, the corpus and the weights) and seals it. Registration puts
the facts, that evidence, the version's name and a digest of every file of its model artifact
into one sealed run record (an artifact of the version's MLflow run). The gate trusts only what
verifies: the record's seal, the evidence's seal, the version's name, every file of the model
artifact (the weights, MLmodel, the pickled wrapper: a swapped file fails); it recomputes epsilon
from the sealed mechanism with both accountants; and a version tag or description that differs
from the record fails the gate ("tags disagree with the model's record"). Tests:
tests/run_record/test_evidence.py, tests/test_release.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from strongroom.privacy.mechanism import Epsilons, Mechanism
from strongroom.run_record.facts import Facts
from strongroom.run_record.seal import SEAL_FIELD, SealError, file_sha256, seal, verified

RECORD_FILE = "run_record.json"  # an artifact of the version's run
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
    data_sha256: str,
    corpus_sha256: str,
    model_file: str | Path,
    trained_by: str,
    key: Ed25519PrivateKey,
    init: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Training's sealed account of what ran, and who ran it (approval's four eyes). `init`:
    the public model it started from (tracking/public_model.py provenance), None: random."""
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
            "data_sha256": data_sha256,  # the records, as validation fingerprinted them
            "corpus_sha256": corpus_sha256,  # the token tensor trained on
            "model_sha256": file_sha256(model_file),
            "trained_by": trained_by,
            "init": init,  # public starting weights: free in privacy, recorded all the same
        },
        key,
    )


def make_audit_evidence(
    *,
    audit: dict[str, Any],
    delta: float,
    corpus_sha256: str,
    model_file: str | Path,
    key: Ed25519PrivateKey,
) -> dict[str, Any]:
    """The audit step's sealed account: its facts and what they were measured on."""
    return seal(
        {
            "audit": audit,  # AuditFacts by name: counts, rates, bits (no secret, no record)
            "delta": delta,  # the delta the one-run bound tested (the run's)
            "corpus_sha256": corpus_sha256,
            "model_sha256": file_sha256(model_file),
        },
        key,
    )


def audit_problems(audit: dict[str, Any], training: dict[str, Any]) -> list[str]:
    """Why a (verified) audit does not belong to a (verified) training run, if it does not."""
    problems = []
    if audit["model_sha256"] != training["model_sha256"]:
        problems.append("the audit measured other weights than training sealed")
    if audit["corpus_sha256"] != training["corpus_sha256"]:
        problems.append("the audit read another corpus than training did")
    if audit["delta"] != training["mechanism"]["delta"]:
        problems.append("the audit tested another delta than the run's")
    return problems


def make_record(
    facts: Facts,
    evidence: dict[str, Any],
    *,
    model: str,
    files: dict[str, str],
    weights_file: str,
    card_sha256: str,
    key: Ed25519PrivateKey,
) -> dict[str, Any]:
    """Registration's sealed run record: the facts, training's (still sealed) evidence, the
    version it belongs to, the sha256 of every file of its model artifact and of the card it
    was registered with (so that a later strongroom, whose card reads differently, still
    verifies the card an older one wrote: release.checked_facts)."""
    verified(evidence, key.public_key(), what="training evidence")
    return seal(
        {
            "facts": facts.flat(),
            "evidence": evidence,
            "model": model,
            "files": dict(sorted(files.items())),
            "weights_file": weights_file,
            "card_sha256": card_sha256,
        },
        key,
    )


def text_sha256(text: str) -> str:
    """sha256 of a text's UTF-8 bytes (the card a version was registered with)."""
    return hashlib.sha256(text.encode()).hexdigest()


def artifact_digests(root: Path) -> dict[str, str]:
    """sha256 of every file below `root`, by its path relative to it."""
    return {
        path.relative_to(root).as_posix(): file_sha256(path)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def tag_value(value: Any) -> str:
    """How a fact is written as an MLflow tag: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class CheckedRecord:
    facts: Facts | None  # with epsilon recomputed; None when the record cannot be trusted
    evidence: dict[str, Any] = field(default_factory=dict)  # training's, verified
    problems: list[str] = field(default_factory=list)
    evidence_signature: str = ""  # what ties the version to its ledger entry


def check_record(
    record: Any,
    *,
    model: str,
    files: dict[str, str],
    tags: dict[str, str],
    key: Ed25519PublicKey,
) -> CheckedRecord:
    """The facts the gate may use, or the reasons it may not."""
    try:
        if not isinstance(record, dict):
            raise TypeError
        body = verified(record, key, what="run record")
        evidence = verified(body["evidence"], key, what="training evidence")
        facts = Facts.from_flat(body["facts"])
        mechanism = Mechanism.from_dict(evidence["mechanism"])
    except SealError as error:
        return CheckedRecord(None, problems=[str(error)])
    except (KeyError, TypeError, ValueError):
        return CheckedRecord(None, problems=["run record is not in the expected form"])
    problems = _artifact_problems(body, evidence, model=model, files=files)
    # Only the facts the record sealed: a fact added to strongroom after a version was
    # registered has neither a sealed value nor a tag there, and that is no edit. The names
    # compared come from the signed record, so no one can drop a fact from the comparison.
    sealed = body["facts"]
    edited = sorted(
        name
        for name, value in facts.flat().items()
        if name in sealed and tags.get(name) != tag_value(value)
    )
    if edited:
        problems.append(f"{TAMPERED}: {', '.join(edited)}")
    now = mechanism.epsilons()
    privacy = facts.privacy.model_copy(
        update={
            "epsilon": max(facts.privacy.epsilon, now.reported),
            "epsilon_prv": now.prv,
            "epsilon_pld": now.pld,
            "accountant_gap": now.gap,
        }
    )
    signature = str(body["evidence"][SEAL_FIELD]["signature"])
    return CheckedRecord(
        facts.model_copy(update={"privacy": privacy}), evidence, problems, signature
    )


def _artifact_problems(
    body: dict[str, Any], evidence: dict[str, Any], *, model: str, files: dict[str, str]
) -> list[str]:
    problems = []
    if body.get("model") != model:
        problems.append(f"the run record belongs to another model version, not {model}")
    sealed = body.get("files", {})
    changed = sorted(
        name for name in set(sealed) | set(files) if sealed.get(name) != files.get(name)
    )
    if changed:
        problems.append(f"model artifact differs from the sealed record: {', '.join(changed)}")
    if sealed.get(body.get("weights_file")) != evidence["model_sha256"]:
        problems.append("model weights differ from the ones training sealed")
    return problems
