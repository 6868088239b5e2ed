"""Tampering with the privacy ledger never lowers the cumulative epsilon the gate sees.

Each test works on a copy of the `store` fixture's database (conftest.py: two registered runs on
the same records), edited the way someone with MLflow EDIT rights could."""

import json
import shutil

import pytest

from strongroom.errors import StrongroomError
from strongroom.release import gate_version
from strongroom.run_record.seal import load_verify_key
from strongroom.tracking import ledger
from strongroom.tracking.registry import store_client


@pytest.fixture
def copy(store, tmp_path):
    _, public_key, versions, root = store
    shutil.copy(root / "mlflow.db", tmp_path / "mlflow.db")  # artifacts stay where they are
    return f"sqlite:///{tmp_path / 'mlflow.db'}", public_key, versions


@pytest.fixture
def policy(tmp_path):
    path = tmp_path / "lifetime.yaml"
    path.write_text(
        "name: lifetime\nrules:\n  - {id: lifetime, fact: ledger.cumulative_epsilon, "
        "op: '<=', value: 100}\n"
    )
    return str(path)


def _composed(uri: str, key_file: str) -> float:
    return ledger.cumulative(ledger.read(uri, key=load_verify_key(key_file)).entries).reported


def _entry_runs(uri: str) -> list:
    client = store_client(uri)
    experiment = client.get_experiment_by_name(ledger.LEDGER_EXPERIMENT)
    runs = client.search_runs([experiment.experiment_id])
    return sorted(runs, key=lambda r: r.info.start_time)


def _gate(uri, versions, key_file, policy):
    decision = gate_version(uri, "m", versions["seeded"], policy, key_file)
    facts = decision["facts"] or {}
    evidence = next(r for r in decision["rules"] if r["id"] == "evidence")
    return evidence, facts.get("ledger.cumulative_epsilon")


def test_an_edited_entry_fails_the_gate(copy, policy):
    uri, key_file, versions = copy
    client = store_client(uri)
    first = _entry_runs(uri)[0]
    entry = json.loads(first.data.tags["ledger.entry"])
    entry["evidence"]["mechanism"]["steps"] = 1
    client.set_tag(first.info.run_id, "ledger.entry", json.dumps(entry))
    evidence, _ = _gate(uri, versions, key_file, policy)
    assert not evidence["passed"]
    assert f"ledger entry {first.info.run_id} cannot be read or verified" in evidence["reason"]


def test_moving_or_deleting_an_entry_does_not_lower_the_cumulative_epsilon(copy, policy):
    uri, key_file, versions = copy
    before = _composed(uri, key_file)
    client = store_client(uri)
    first = _entry_runs(uri)[0]
    client.set_tag(first.info.run_id, "ledger.data_sha256", "0" * 64)  # a display tag only
    evidence, cumulative = _gate(uri, versions, key_file, policy)
    assert evidence["passed"] and cumulative == pytest.approx(before)
    client.delete_run(first.info.run_id)
    evidence, cumulative = _gate(uri, versions, key_file, policy)
    assert evidence["passed"] and cumulative == pytest.approx(before)


def test_an_unreadable_entry_is_a_reason_not_a_traceback(copy, policy):
    uri, key_file, versions = copy
    client = store_client(uri)
    client.set_tag(_entry_runs(uri)[0].info.run_id, "ledger.entry", "{not json")
    evidence, _ = _gate(uri, versions, key_file, policy)
    assert not evidence["passed"] and "cannot be read or verified" in evidence["reason"]


def test_an_edited_description_fails_the_gate(copy, policy):
    uri, key_file, versions = copy
    client = store_client(uri)
    client.update_model_version("m", versions["seeded"], description="# Model card: m\nepsilon 1")
    evidence, _ = _gate(uri, versions, key_file, policy)
    assert not evidence["passed"]
    assert "description is not the card of its record" in evidence["reason"]


def test_a_card_that_a_later_strongroom_would_write_otherwise_still_verifies(
    copy, policy, monkeypatch
):
    """The card's sha256 is sealed at registration: a newer card template (a line added, a
    figure reworded) does not turn every older version into "not the card of its record"."""
    uri, key_file, versions = copy
    monkeypatch.setattr(
        "strongroom.tracking.card.render_card", lambda name, facts: "# a newer card\n"
    )
    evidence, _ = _gate(uri, versions, key_file, policy)
    assert evidence["passed"], evidence["reason"]


def test_an_unknown_version_is_a_clear_error(copy, policy):
    uri, key_file, _ = copy
    with pytest.raises(StrongroomError, match="m/99: no such registered model version"):
        gate_version(uri, "m", "99", policy, key_file)
