"""Register, ledger and gate on real stage outputs (no kfp): the `store` fixture (conftest.py)
holds two runs on the same records, one with the default secure randomness and one seeded."""

import json

import dp_accounting
import pytest
from dp_accounting.pld import pld_privacy_accountant

from strongroom.cli import main
from strongroom.privacy.mechanism import Mechanism
from strongroom.release import gate_version
from strongroom.run_record.evidence import TAMPERED
from strongroom.tracking import ledger
from strongroom.tracking.registry import store_client


def _rule(decision: dict, rule_id: str) -> dict:
    return next(r for r in decision["rules"] if r["id"] == rule_id)


def _tags(uri: str, version: str) -> dict[str, str]:
    return store_client(uri).get_model_version("m", version).tags


def test_a_run_with_default_settings_is_a_dp_release_and_passes_hipaa(store):
    uri, key_file, versions, _ = store
    assert _tags(uri, versions["secure"])["privacy.secure_rng"] == "true"
    decision = gate_version(uri, "m", versions["secure"], "hipaa", key_file)
    assert decision["passed"], decision
    assert _rule(decision, "evidence")["passed"]


@pytest.mark.parametrize("policy", ["hipaa", "bank"])
def test_a_seeded_run_fails_every_shipped_policy(store, policy):
    uri, key_file, versions, _ = store
    assert _tags(uri, versions["seeded"])["privacy.secure_rng"] == "false"
    decision = gate_version(uri, "m", versions["seeded"], policy, key_file)
    assert not decision["passed"]
    assert not _rule(decision, "secure_randomness")["passed"]
    card = store_client(uri).get_model_version("m", versions["seeded"])
    assert "NOT A DP RELEASE" in card.description


@pytest.mark.parametrize("tag", ["privacy.epsilon", "privacy.noise_multiplier"])
def test_an_edited_privacy_tag_fails_the_gate_as_tampering(store, tag):
    uri, key_file, versions, _ = store
    client = store_client(uri)
    original = _tags(uri, versions["secure"])[tag]
    client.set_model_version_tag("m", versions["secure"], tag, json.dumps(0.5))
    try:
        decision = gate_version(uri, "m", versions["secure"], "hipaa", key_file)
    finally:
        client.set_model_version_tag("m", versions["secure"], tag, original)
    evidence = _rule(decision, "evidence")
    assert not decision["passed"] and not evidence["passed"]
    assert f"{TAMPERED}: {tag}" in evidence["reason"]


def _record(uri: str, version: str, tmp_path) -> dict:
    client = store_client(uri)
    run_id = client.get_model_version("m", version).run_id
    return json.loads(
        open(client.download_artifacts(run_id, "run_record.json", str(tmp_path))).read()
    )


def test_the_gates_epsilon_is_recomputed_from_the_sealed_mechanism(store, tmp_path):
    uri, key_file, versions, _ = store
    evidence = _record(uri, versions["secure"], tmp_path)["evidence"]
    expected = Mechanism.from_dict(evidence["mechanism"]).epsilons().reported
    client = store_client(uri)
    original = _tags(uri, versions["secure"])["privacy.epsilon"]
    client.set_model_version_tag("m", versions["secure"], "privacy.epsilon", "0.001")
    try:
        decision = gate_version(uri, "m", versions["secure"], "hipaa", key_file)
    finally:
        client.set_model_version_tag("m", versions["secure"], "privacy.epsilon", original)
    reason = _rule(decision, "epsilon_within_budget")["reason"]
    assert reason.startswith(f"privacy.epsilon = {expected!r} <= 8.0")  # not the tag's 0.001


def test_a_record_checked_with_another_seal_key_is_not_trusted(store, tmp_path):
    from strongroom.run_record.seal import load_signing_key

    uri, _, versions, _ = store
    load_signing_key(tmp_path / "other.key", create=True)  # another pipeline's key pair
    decision = gate_version(uri, "m", versions["secure"], "hipaa", str(tmp_path / "other.key.pub"))
    assert not decision["passed"]
    assert "seal does not verify" in _rule(decision, "evidence")["reason"]


def test_the_ledger_composes_both_runs_on_the_same_people(store, tmp_path, capsys):
    uri, key_file, versions, _ = store
    from strongroom.run_record.seal import load_verify_key

    found = ledger.read(uri, key=load_verify_key(key_file))
    assert found.problems == []
    assert [e.model for e in found.entries] == [
        f"m/{versions['secure']}",
        f"m/{versions['seeded']}",
    ]
    assert len({e.data_sha256 for e in found.entries}) == 1
    total = ledger.cumulative(found.entries).checked()
    reference = pld_privacy_accountant.PLDAccountant(value_discretization_interval=1e-3)
    reference.compose(
        dp_accounting.ComposedDpEvent([e.mechanism.dp_event() for e in found.entries])
    )
    assert total.pld == pytest.approx(reference.get_epsilon(1e-5), rel=1e-9)
    singles = [e.mechanism.epsilons().reported for e in found.entries]
    assert total.reported > max(singles)
    # What each registration saw, sealed: the first run alone, then both.
    first = _record(uri, versions["secure"], tmp_path / "1")["facts"]
    second = _record(uri, versions["seeded"], tmp_path / "2")["facts"]
    assert (first["ledger.runs"], second["ledger.runs"]) == (1, 2)
    assert first["ledger.cumulative_epsilon"] == pytest.approx(singles[0], rel=1e-9)
    assert second["ledger.cumulative_epsilon"] == pytest.approx(total.reported, rel=1e-9)

    bound = (max(singles) + total.reported) / 2  # each run alone is within it, both are not
    policy = tmp_path / "cumulative.yaml"
    policy.write_text(
        "name: cumulative\nrules:\n  - {id: lifetime_budget, fact: ledger.cumulative_epsilon, "
        f"op: '<=', value: {bound}}}\n"
    )
    assert first["ledger.cumulative_epsilon"] <= bound  # the first passed when it was gated
    second_gate = gate_version(uri, "m", versions["seeded"], str(policy), key_file)
    assert not _rule(second_gate, "lifetime_budget")["passed"]
    # Gated again now, the first sees every release on the same people too (conservative).
    again = gate_version(uri, "m", versions["secure"], str(policy), key_file)
    assert not _rule(again, "lifetime_budget")["passed"]

    assert main(["ledger", "--tracking-uri", uri, "--seal-public-key", key_file]) == 0
    printed = capsys.readouterr().out
    assert "runs 2" in printed and f"cumulative epsilon {total.reported:.4f}" in printed


def test_the_audit_reaches_the_card_the_gate_and_the_audit_command(store, capsys):
    uri, key_file, versions, _ = store
    card = store_client(uri).get_model_version("m", versions["secure"]).description
    assert "## Privacy audit" in card and "consistent with the claimed epsilon" in card
    decision = gate_version(uri, "m", versions["secure"], "hipaa", key_file)
    assert _rule(decision, "audit_lower_bound_within_claim")["passed"]
    assert decision["facts"]["audit.canaries"] == 16
    ref = f"m/{versions['secure']}"
    assert main(["audit", ref, "--tracking-uri", uri, "--seal-public-key", key_file]) == 0
    printed = capsys.readouterr().out
    assert "audit consistent: lower bound" in printed and "membership inference" in printed


def test_registration_refuses_an_audit_of_other_weights_or_an_edited_one(store, stage_dirs):
    from strongroom.errors import StrongroomError
    from strongroom.release import register_stage
    from strongroom.run_record.reports import AuditReport
    from strongroom.run_record.seal import SealError

    uri, key_file, _, root = store
    given = dict(
        tracking_uri=uri, model_name="m", contract="hospital_encounters",
        seal_key_file=key_file.removesuffix(".pub"), validate_dir=stage_dirs["validate"],
        deid_dir=stage_dirs["deid"], corpus_dir=stage_dirs["corpus"],
        model_dir=str(root / "secure-model"), eval_dir=str(root / "secure-eval"),
    )  # fmt: skip
    with pytest.raises(StrongroomError, match="the audit measured other weights"):
        register_stage(**given, audit_dir=str(root / "seeded-audit"))
    report = AuditReport.load(root / "secure-audit")
    report.evidence["audit"]["epsilon_lower_bound"] = 0.0001  # "the audit found nothing"
    edited = root / "edited-audit"
    report.write(edited)
    with pytest.raises(SealError, match="audit evidence: seal does not verify"):
        register_stage(**given, audit_dir=str(edited))


def test_no_canary_secret_reaches_the_card_the_tags_or_the_records(store, stage_dirs, tmp_path):
    from strongroom.corpus.canaries import Canaries
    from strongroom.corpus.tokenizer import decode

    uri, _, versions, root = store
    canaries = Canaries.load(stage_dirs["corpus"])
    secrets = [
        decode(row[start : start + canaries.secret_length])
        for row, start in zip(canaries.tokens, canaries.secret_start, strict=True)
    ]
    version = store_client(uri).get_model_version("m", versions["secure"])
    published = [
        version.description,
        json.dumps(dict(version.tags)),
        json.dumps(_record(uri, versions["secure"], tmp_path)),
        (root / "secure-audit" / "audit_report.json").read_text(),
    ]
    assert all(len(s) == 10 and s.isdigit() for s in secrets)
    assert not [s for s in secrets for text in published if s in text]


def test_a_failing_gate_marks_the_version_and_its_card_still_verifies(store, tmp_path):
    """gate.<policy>=failed with the policy's version and hash, a banner above the card (which
    the evidence check still finds intact), lineage recorded with the facts."""
    import shutil

    from strongroom.release import gate_stage

    _, key_file, versions, root = store
    shutil.copy(root / "mlflow.db", tmp_path / "mlflow.db")  # tags and descriptions only change
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "name: strict\nversion: 2\nrules:\n"
        "  - {id: tiny_epsilon, fact: privacy.epsilon, op: '<=', value: 0.01}\n"
    )
    gate_stage(uri, "m", versions["secure"], str(strict), key_file, str(tmp_path / "d.json"))
    tags = _tags(uri, versions["secure"])
    assert tags["gate.strict"] == "failed" and tags["gate.strict.policy"].startswith("v2 sha256:")
    description = store_client(uri).get_model_version("m", versions["secure"]).description
    assert description.startswith("> **FAILED THE GATE: policy strict v2**")
    assert "tiny_epsilon" in description.split("\n\n")[0]
    assert gate_version(uri, "m", versions["secure"], "hipaa", key_file)["passed"]
    assert tags["lineage.code_version"].startswith("0.1.0")
    assert len(tags["lineage.contract_sha256"]) == 64 and tags["lineage.image"] == "null"


def test_the_card_is_checked_by_its_sealed_digest_or_rendered_for_records_without_one():
    from strongroom.release import _is_its_card
    from strongroom.run_record.evidence import text_sha256
    from strongroom.tracking.card import render_card
    from tests.governance.test_gate import GOOD

    older = {"facts": GOOD.flat()}  # sealed before the card's digest was kept
    card = render_card("m", GOOD)
    assert _is_its_card(card, older, "m") and not _is_its_card(card + "edited", older, "m")
    sealed = {**older, "card_sha256": text_sha256("the card an older strongroom wrote")}
    assert _is_its_card("the card an older strongroom wrote", sealed, "m")
    assert not _is_its_card(card, sealed, "m")
