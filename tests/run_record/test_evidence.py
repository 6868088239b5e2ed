"""The gate's check of a sealed run record, on files (no MLflow)."""

from strongroom.privacy.mechanism import Mechanism
from strongroom.run_record.evidence import (
    TAMPERED,
    check_record,
    make_evidence,
    make_record,
    tag_value,
)
from strongroom.run_record.seal import load_signing_key
from tests.governance.test_gate import GOOD


def _sealed(tmp_path):
    key = load_signing_key(tmp_path / "seal.key", create=True)
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"weights")
    mechanism = Mechanism(0.9, 0.03, 100, 1e-6, "patient")
    evidence = make_evidence(
        mechanism=mechanism, epsilons=mechanism.epsilons(), target_epsilon=4.0,
        max_grad_norm=1.0, units=2000, seed=None, stopped_early=False, resumed_from_step=0,
        corpus_sha256="2" * 64, model_file=weights, key=key,
    )  # fmt: skip
    tags = {name: tag_value(value) for name, value in GOOD.flat().items()}
    return make_record(GOOD, evidence, key), weights, tags, key.public_key(), mechanism


def test_a_verified_record_gives_its_facts_with_epsilon_recomputed(tmp_path):
    record, weights, tags, public, mechanism = _sealed(tmp_path)
    checked = check_record(record, model_file=weights, tags=tags, key=public)
    assert checked.problems == [] and checked.mechanism == mechanism
    now = mechanism.epsilons()
    assert checked.facts.privacy.epsilon == max(GOOD.privacy.epsilon, now.reported)
    assert checked.facts.privacy.epsilon_pld == now.pld


def test_other_weights_and_edited_tags_are_named(tmp_path):
    record, weights, tags, public, _ = _sealed(tmp_path)
    weights.write_bytes(b"other weights")
    edited = {**tags, "privacy.noise_multiplier": "5.0", "validation.success": "true "}
    problems = check_record(record, model_file=weights, tags=edited, key=public).problems
    assert "model weights differ from the ones training sealed" in problems
    assert f"{TAMPERED}: privacy.noise_multiplier, validation.success" in problems


def test_an_edited_record_is_not_trusted_at_all(tmp_path):
    record, weights, tags, public, _ = _sealed(tmp_path)
    record["facts"]["privacy.epsilon"] = 0.1
    checked = check_record(record, model_file=weights, tags=tags, key=public)
    assert checked.facts is None and "seal does not verify" in checked.problems[0]
