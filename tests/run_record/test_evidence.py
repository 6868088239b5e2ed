"""The gate's check of a sealed run record, on files (no MLflow)."""

from strongroom.privacy.mechanism import Mechanism
from strongroom.run_record.evidence import (
    TAMPERED,
    artifact_digests,
    check_record,
    make_evidence,
    make_record,
    tag_value,
)
from strongroom.run_record.seal import load_signing_key
from tests.governance.test_gate import GOOD


def _sealed(tmp_path):
    key = load_signing_key(tmp_path / "seal.key", create=True)
    artifact = tmp_path / "model"
    (artifact / "artifacts").mkdir(parents=True)
    (artifact / "artifacts" / "model.pt").write_bytes(b"weights")
    (artifact / "MLmodel").write_text("loader: strongroom\n")
    mechanism = Mechanism(0.9, 0.03, 100, 1e-6, "patient")
    evidence = make_evidence(
        mechanism=mechanism, epsilons=mechanism.epsilons(), target_epsilon=4.0,
        max_grad_norm=1.0, units=2000, seed=None, stopped_early=False, resumed_from_step=0,
        data_sha256="1" * 64, corpus_sha256="2" * 64,
        model_file=artifact / "artifacts" / "model.pt", trained_by="trainer", key=key,
    )  # fmt: skip
    record = make_record(
        GOOD, evidence, model="m/1", files=artifact_digests(artifact),
        weights_file="artifacts/model.pt", card_sha256="3" * 64, key=key,
    )  # fmt: skip
    tags = {name: tag_value(value) for name, value in GOOD.flat().items()}
    return record, artifact, tags, key.public_key(), mechanism


def _check(record, artifact, tags, public, model="m/1"):
    files = artifact_digests(artifact)
    return check_record(record, model=model, files=files, tags=tags, key=public)


def test_a_verified_record_gives_its_facts_with_epsilon_recomputed(tmp_path):
    record, artifact, tags, public, mechanism = _sealed(tmp_path)
    checked = _check(record, artifact, tags, public)
    assert checked.problems == [] and checked.evidence["mechanism"] == mechanism.to_dict()
    now = mechanism.epsilons()
    assert checked.facts.privacy.epsilon == max(GOOD.privacy.epsilon, now.reported)
    assert checked.facts.privacy.epsilon_pld == now.pld


def test_swapped_weights_an_added_file_and_edited_tags_are_named(tmp_path):
    record, artifact, tags, public, _ = _sealed(tmp_path)
    (artifact / "artifacts" / "model.pt").write_bytes(b"other weights")
    (artifact / "artifacts" / "weights.bin").write_bytes(b"what MLmodel now loads")
    edited = {**tags, "privacy.noise_multiplier": "5.0", "validation.success": "true "}
    problems = _check(record, artifact, edited, public).problems
    assert (
        "model artifact differs from the sealed record: artifacts/model.pt, artifacts/weights.bin"
        in problems
    )
    assert f"{TAMPERED}: privacy.noise_multiplier, validation.success" in problems


def test_a_fact_added_after_registration_is_no_edit_but_a_sealed_one_still_is(
    tmp_path, monkeypatch
):
    from strongroom.run_record import facts as facts_module

    newer = "eval.records_parsed_share"  # a fact this version of strongroom added
    older_flat = {k: v for k, v in GOOD.flat().items() if k != newer}
    monkeypatch.setattr(facts_module.Facts, "flat", lambda self: dict(older_flat))
    record, artifact, tags, public, _ = _sealed(tmp_path)  # registered before the fact existed
    monkeypatch.undo()
    assert newer not in record["facts"] and newer not in tags
    assert _check(record, artifact, tags, public).problems == []
    edited = {**tags, "eval.loss": "0.001"}
    assert f"{TAMPERED}: eval.loss" in _check(record, artifact, edited, public).problems


def test_a_record_of_another_version_is_named(tmp_path):
    record, artifact, tags, public, _ = _sealed(tmp_path)
    problems = _check(record, artifact, tags, public, model="m/2").problems
    assert problems == ["the run record belongs to another model version, not m/2"]


def test_an_edited_or_malformed_record_is_not_trusted_at_all(tmp_path):
    record, artifact, tags, public, _ = _sealed(tmp_path)
    record["facts"]["privacy.epsilon"] = 0.1
    checked = _check(record, artifact, tags, public)
    assert checked.facts is None and "seal does not verify" in checked.problems[0]
    for malformed in ([], "x", {"seal": 3}):
        assert _check(malformed, artifact, tags, public).facts is None
