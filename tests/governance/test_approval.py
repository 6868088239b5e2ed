"""Four eyes and policies that cannot be swapped, on real registered versions (conftest `store`)."""

from __future__ import annotations

import pytest
from strongroom.governance.approval import (
    APPROVAL_TAG,
    PRODUCTION,
    approve,
    make_approver_key,
    revoke,
    verify,
)

from strongroom.cli import main
from strongroom.errors import GateError, StrongroomError
from strongroom.identity import current_identity
from strongroom.release import STAGING, gate_version, promote
from strongroom.tracking.registry import store_client


@pytest.fixture
def approvers(tmp_path, monkeypatch):
    """The organisation's trusted approvers: alice, and the identity that trained the models."""
    trusted = tmp_path / "approvers"
    trusted.mkdir()
    keys = {}
    for who in ("alice", current_identity()):
        keys[who] = tmp_path / f"{who}.key"
        (trusted / f"{who}.pub").write_text(make_approver_key(keys[who]).read_text())
    monkeypatch.setenv("STRONGROOM_APPROVERS", str(trusted))
    return keys


def _aliases(uri: str, version: str) -> list[str]:
    return list(store_client(uri).get_model_version("m", version).aliases)


def _approve(store, keys, who: str, version: str) -> dict:
    uri, public_key, _, _ = store
    return approve(
        uri, "m", version, approver=who, approver_key_file=str(keys[who]), policy="hipaa",
        seal_public_key_file=public_key, reason="reviewed the card",
    )  # fmt: skip


def test_a_second_person_approves_and_verify_accepts_until_revoked(store, approvers):
    uri, public_key, versions, _ = store
    record = _approve(store, approvers, "alice", versions["secure"])
    assert record["approver"] == "alice" and record["trained_by"] == current_identity()
    assert PRODUCTION in _aliases(uri, versions["secure"])
    assert verify(uri, "m", PRODUCTION, policy="hipaa", seal_public_key_file=public_key).ok
    revoke(uri, "m", versions["secure"], by="bob", reason="test")
    assert PRODUCTION not in _aliases(uri, versions["secure"])
    result = verify(uri, "m", PRODUCTION, policy="hipaa", seal_public_key_file=public_key)
    assert not result.ok and "no alias" in result.problems[0]


def test_approval_by_the_identity_that_trained_is_refused(store, approvers):
    _, _, versions, _ = store
    with pytest.raises(GateError, match="a second person must approve"):
        _approve(store, approvers, current_identity(), versions["secure"])


def test_a_key_the_organisation_does_not_trust_for_the_approver_is_refused(store, approvers):
    uri, public_key, versions, _ = store
    with pytest.raises(GateError, match="not the organisation's key"):
        approve(
            uri, "m", versions["secure"], approver="alice",
            approver_key_file=str(approvers[current_identity()]), policy="hipaa",
            seal_public_key_file=public_key,
        )  # fmt: skip
    with pytest.raises(StrongroomError, match="not found"):
        _approve(store, {"mallory": approvers["alice"]}, "mallory", versions["secure"])


def test_an_alias_set_by_hand_or_an_edited_approval_deploys_nothing(store, approvers):
    uri, public_key, versions, _ = store
    client = store_client(uri)
    client.set_registered_model_alias("m", PRODUCTION, versions["secure"])  # the MLflow UI's way
    result = verify(uri, "m", PRODUCTION, policy="hipaa", seal_public_key_file=public_key)
    assert not result.ok and "no approval" in result.problems[0]
    record = _approve(store, approvers, "alice", versions["secure"])
    edited = record | {"reason": "something else"}
    client.set_model_version_tag(
        "m", versions["secure"], APPROVAL_TAG, str(edited).replace("'", '"')
    )
    result = verify(uri, "m", PRODUCTION, policy="hipaa", seal_public_key_file=public_key)
    assert not result.ok and "does not verify" in result.problems[0]
    revoke(uri, "m", versions["secure"], by="alice")


def test_a_failing_version_is_not_approved_and_loses_its_aliases(store, approvers):
    uri, _, versions, _ = store
    store_client(uri).set_registered_model_alias(
        "m", STAGING, versions["seeded"]
    )  # set by hand: the seeded run fails hipaa
    with pytest.raises(GateError, match="not approved"):
        _approve(store, approvers, "alice", versions["seeded"])
    assert _aliases(uri, versions["seeded"]) == []


def test_a_laxer_policy_file_under_the_organisations_name_promotes_nothing(store, tmp_path):
    uri, public_key, versions, _ = store
    lax = tmp_path / "hipaa.yaml"
    lax.write_text(
        "name: hipaa\nrules:\n  - {id: any, fact: privacy.epsilon, op: '<=', value: 1000000000}\n"
    )
    decision = gate_version(uri, "m", versions["seeded"], str(lax), public_key)
    assert decision["passed"], decision["rules"]
    with pytest.raises(GateError, match=r"fails policy hipaa \(shipped\)"):
        promote(uri, "m", versions["seeded"], str(lax), public_key)
    assert STAGING not in _aliases(uri, versions["seeded"])


def test_the_organisations_policy_dir_decides_and_a_failing_regate_withdraws(
    store, tmp_path, monkeypatch, capsys
):
    uri, public_key, versions, _ = store
    promote(uri, "m", versions["secure"], "hipaa", public_key)
    assert STAGING in _aliases(uri, versions["secure"])
    org = tmp_path / "org"
    org.mkdir()
    (org / "hipaa.yaml").write_text(
        "name: hipaa\nversion: 9\nrules:\n  - {id: tiny, fact: privacy.epsilon, op: '<=', value: 0.01}\n"
    )
    monkeypatch.setenv("STRONGROOM_POLICY_DIR", str(org))
    result = verify(uri, "m", STAGING, policy="hipaa", seal_public_key_file=public_key)
    assert not result.ok and "tiny" in result.problems[0]
    code = main(["gate", f"m/{versions['secure']}", "--policy", "hipaa", "--tracking-uri", uri,
                 "--seal-public-key", public_key])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 3 and "v9" in out and "aliases staging removed" in out
    assert _aliases(uri, versions["secure"]) == []


def test_approve_and_verify_take_the_organisations_policy_by_name_never_a_file(store, approvers):
    uri, public_key, versions, _ = store
    with pytest.raises(StrongroomError, match="by name"):
        approve(
            uri, "m", versions["secure"], approver="alice", approver_key_file=str(approvers["alice"]),
            policy="lax.yaml", seal_public_key_file=public_key,
        )  # fmt: skip
    with pytest.raises(StrongroomError, match="by name"):
        verify(uri, "m", PRODUCTION, policy="/tmp/lax.yaml", seal_public_key_file=public_key)
