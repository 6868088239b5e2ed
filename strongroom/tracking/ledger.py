"""The privacy ledger: every registered run's mechanism, per data fingerprint and privacy unit.

Runs on the same people compose: two runs at epsilon 4 are not two guarantees of 4. Each
registered version adds one entry (a run in the `strongroom-privacy-ledger` experiment of the same
MLflow store, so the ledger travels with the store) carrying training's sealed evidence. The
cumulative epsilon of a data set is the composition of its entries' mechanisms under both
accountants (the larger is reported), at the smallest delta among them (conservative).
Entries are read conservatively: an entry whose seal does not verify still counts, and is flagged.
Tests: tests/tracking/test_ledger.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from strongroom.privacy.mechanism import Epsilons, Mechanism, composed_epsilons
from strongroom.run_record.seal import SealError, verified

LEDGER_EXPERIMENT = "strongroom-privacy-ledger"


@dataclass(frozen=True)
class LedgerEntry:
    data_sha256: str
    unit: str  # the privacy unit's name (patient, customer)
    model: str  # NAME/VERSION
    mechanism: Mechanism
    registered_ms: int  # when it was recorded (ledger order)
    verified: bool  # training's seal verified


def _client(tracking_uri: str) -> Any:
    from strongroom.tracking.registry import store_client

    return store_client(tracking_uri)


def _experiment_id(client: Any) -> str:
    found = client.get_experiment_by_name(LEDGER_EXPERIMENT)
    return found.experiment_id if found else client.create_experiment(LEDGER_EXPERIMENT)


def record_run(
    tracking_uri: str, *, data_sha256: str, unit: str, model: str, evidence: dict[str, Any]
) -> None:
    """Add one registered run to the ledger."""
    client = _client(tracking_uri)
    run = client.create_run(
        _experiment_id(client),
        run_name=f"ledger {model}",
        tags={
            "ledger.data_sha256": data_sha256,
            "ledger.unit": unit,
            "ledger.model": model,
            "ledger.evidence": json.dumps(evidence, sort_keys=True),
        },
    )
    client.set_terminated(run.info.run_id)


def entries(
    tracking_uri: str, *, key: Ed25519PublicKey | None, data_sha256: str | None = None
) -> list[LedgerEntry]:
    """The ledger's entries (optionally for one data set), oldest first."""
    client = _client(tracking_uri)
    found = client.get_experiment_by_name(LEDGER_EXPERIMENT)
    if found is None:
        return []
    query = f"tags.`ledger.data_sha256` = '{data_sha256}'" if data_sha256 else ""
    runs = client.search_runs([found.experiment_id], filter_string=query, max_results=50000)
    out = [_entry(run, key) for run in runs]
    return sorted(out, key=lambda e: e.registered_ms)


def _entry(run: Any, key: Ed25519PublicKey | None) -> LedgerEntry:
    tags = run.data.tags
    evidence = json.loads(tags["ledger.evidence"])
    ok = False
    if key is not None:
        try:
            verified(evidence, key, what="ledger entry")
            ok = True
        except SealError:
            ok = False
    return LedgerEntry(
        data_sha256=tags["ledger.data_sha256"],
        unit=tags["ledger.unit"],
        model=tags["ledger.model"],
        mechanism=Mechanism.from_dict(evidence["mechanism"]),
        registered_ms=int(run.info.start_time),
        verified=ok,
    )


def cumulative(same_people: list[LedgerEntry]) -> Epsilons:
    """Epsilon of every run in `same_people` together (one data set, one unit)."""
    if not same_people:
        return Epsilons(0.0, 0.0, 0.0)
    delta = min(e.mechanism.delta for e in same_people)
    return composed_epsilons([e.mechanism for e in same_people], delta=delta)


def up_to(all_entries: list[LedgerEntry], model: str) -> list[LedgerEntry]:
    """The entries on the same people as `model`'s, registered up to and including it."""
    mine = next((e for e in all_entries if e.model == model), None)
    if mine is None:
        return []
    return [
        e
        for e in all_entries
        if e.data_sha256 == mine.data_sha256
        and e.unit == mine.unit
        and e.registered_ms <= mine.registered_ms
    ]
