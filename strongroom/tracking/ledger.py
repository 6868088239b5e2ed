"""The privacy ledger: every registered run's mechanism, per data fingerprint and privacy unit.

Runs on the same people compose: two runs at epsilon 4 are not two guarantees of 4. Each
registered version adds one entry (a run in the `strongroom-privacy-ledger` experiment of the same
MLflow store, so the ledger travels with the store). The entry is sealed by registration: the
data fingerprint, the unit, the model version and training's own sealed evidence, so none of them
can be moved or edited; its tags are for people and search only. The cumulative epsilon of a data
set composes all its entries (deleted runs included: deleting a record does not undo a release)
under both accountants (the larger is reported), at the smallest delta among them.
An entry that cannot be read or does not verify is a problem the gate fails on.
Tests: tests/tracking/test_ledger.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from strongroom.privacy.mechanism import Epsilons, Mechanism, composed_epsilons
from strongroom.run_record.seal import SEAL_FIELD, SealError, seal, verified

LEDGER_EXPERIMENT = "strongroom-privacy-ledger"
_ENTRY_TAG = "ledger.entry"


@dataclass(frozen=True)
class LedgerEntry:
    data_sha256: str
    unit: str  # the privacy unit's name (patient, customer)
    model: str  # NAME/VERSION
    mechanism: Mechanism
    evidence_signature: str  # ties the entry to one training run's sealed evidence
    run_id: str  # the ledger run holding it


@dataclass
class Ledger:
    entries: list[LedgerEntry] = field(default_factory=list)  # verified
    problems: list[str] = field(default_factory=list)  # entries that cannot be trusted

    def same_people(self, data_sha256: str, unit: str) -> list[LedgerEntry]:
        return [e for e in self.entries if e.data_sha256 == data_sha256 and e.unit == unit]


def _client(tracking_uri: str) -> Any:
    from strongroom.tracking.registry import store_client

    return store_client(tracking_uri)


def new_entry(
    *, data_sha256: str, unit: str, model: str, evidence: dict[str, Any], key: Ed25519PrivateKey
) -> dict[str, Any]:
    """A sealed ledger entry for one registered run."""
    return seal(
        {"data_sha256": data_sha256, "unit": unit, "model": model, "evidence": evidence}, key
    )


def record_run(tracking_uri: str, entry: dict[str, Any]) -> None:
    """Add one sealed entry to the ledger."""
    from strongroom.tracking.registry import prepare_store

    prepare_store(tracking_uri)
    client = _client(tracking_uri)
    experiment = client.get_experiment_by_name(LEDGER_EXPERIMENT).experiment_id
    run = client.create_run(
        experiment,
        run_name=f"ledger {entry['model']}",
        tags={
            "ledger.data_sha256": entry["data_sha256"],  # for people and search: not trusted
            "ledger.unit": entry["unit"],
            "ledger.model": entry["model"],
            _ENTRY_TAG: json.dumps(entry, sort_keys=True),
        },
    )
    client.set_terminated(run.info.run_id)


def read(tracking_uri: str, *, key: Ed25519PublicKey | None) -> Ledger:
    """Every entry, deleted runs included; without a key nothing is verified (display only)."""
    from mlflow.entities import ViewType

    client = _client(tracking_uri)
    found = client.get_experiment_by_name(LEDGER_EXPERIMENT)
    ledger = Ledger()
    if found is None:
        return ledger
    runs = client.search_runs([found.experiment_id], run_view_type=ViewType.ALL, max_results=50000)
    for run in sorted(runs, key=lambda r: r.info.start_time):
        try:
            ledger.entries.append(_entry(run, key))
        except (SealError, ValueError, KeyError, TypeError):
            ledger.problems.append(f"ledger entry {run.info.run_id} cannot be read or verified")
    return ledger


def _entry(run: Any, key: Ed25519PublicKey | None) -> LedgerEntry:
    raw = json.loads(run.data.tags[_ENTRY_TAG])
    body = verified(raw, key, what="ledger entry") if key is not None else raw
    evidence = body["evidence"]
    return LedgerEntry(
        data_sha256=str(body["data_sha256"]),
        unit=str(body["unit"]),
        model=str(body["model"]),
        mechanism=Mechanism.from_dict(evidence["mechanism"]),
        evidence_signature=str(evidence[SEAL_FIELD]["signature"]),
        run_id=run.info.run_id,
    )


def cumulative(same_people: list[LedgerEntry], *, extra: Mechanism | None = None) -> Epsilons:
    """Epsilon of every run in `same_people` (and `extra`) together."""
    mechanisms = [e.mechanism for e in same_people] + ([extra] if extra else [])
    if not mechanisms:
        return Epsilons(0.0, 0.0, 0.0)
    delta = min(m.delta for m in mechanisms)
    return composed_epsilons(mechanisms, delta=delta)
