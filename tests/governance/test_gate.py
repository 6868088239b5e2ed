import pytest
from strongroom.governance.gate import evaluate_policy, load_policy

from strongroom.errors import ConfigError
from strongroom.run_record.facts import AuditFacts, Facts, LedgerFacts

GOOD = Facts.model_validate(
    {
        "privacy": {
            "epsilon": 3.9, "epsilon_prv": 3.9, "epsilon_pld": 3.88, "accountant_gap": 0.005,
            "delta": 1e-6, "delta_times_units": 0.002, "unit_kind": "person",
            "unit_name": "patient", "unit_column": "patient_id", "target_epsilon": 4.0,
            "noise_multiplier": 0.9, "sampling_rate": 0.03, "steps": 100, "max_grad_norm": 1.0,
            "units": 2000, "adjacency": "add_remove", "secure_rng": True,
        },
        "train": {"stopped_early": False, "resumed_from_step": 0, "learning_rate": 2e-3,
                  "seed": None},
        "model": {"preset": "demo", "parameters": 1000, "sha256": "0" * 64},
        "validation": {"success": True, "rows_in": 10, "rows_quarantined": 0},
        "deid": {"identifiers_removed": 5, "residual_identifiers": 0, "unit_values_merged": 0},
        "corpus": {"max_seq_len": 512, "truncated": 0, "units_train": 2000},
        "eval": {"loss": 2.0, "perplexity": 7.4, "units": 200},
        "data": {"contract": "hospital_encounters", "sha256": "1" * 64},
        "audit": {
            "canaries": 128, "epsilon_lower_bound": 0.0, "confidence": 0.95, "guesses": 8,
            "correct_guesses": 5, "exposure_included": 1.5, "exposure_excluded": 1.4,
            "exposure_max": 4.0, "exposure_space_bits": 33.2, "canaries_extracted": 0,
            "mia_auc": 0.51, "mia_auc_low": 0.47, "mia_auc_high": 0.55,
            "mia_tpr_at_1pct_fpr": 0.01, "mia_tpr_at_1pct_fpr_low": 0.005,
            "mia_tpr_at_1pct_fpr_high": 0.02, "mia_tpr_at_01pct_fpr": 0.001,
            "mia_tpr_at_01pct_fpr_low": 0.0, "mia_tpr_at_01pct_fpr_high": 0.004,
            "memorised_exact_train": 0.0, "memorised_near_train": 0.0,
            "memorised_exact_heldout": 0.0, "memorised_near_heldout": 0.0,
        },
        "ledger": {"cumulative_epsilon": 3.9, "runs": 1},
    }
)  # fmt: skip


def _with(**groups: dict) -> Facts:
    return GOOD.model_copy(
        update={g: getattr(GOOD, g).model_copy(update=v) for g, v in groups.items()}
    )


@pytest.mark.parametrize("policy", ["hipaa", "bank"])
def test_shipped_policies_pass_on_good_facts(policy):
    decision = evaluate_policy(load_policy(policy), GOOD)
    assert decision.passed and all(r.passed for r in decision.rules)


def test_each_violation_is_named_with_its_reason():
    facts = _with(privacy={"epsilon": 9.5}, deid={"residual_identifiers": 2})
    decision = evaluate_policy(load_policy("hipaa"), facts)
    failed = {r.id: r.reason for r in decision.rules if not r.passed}
    assert not decision.passed
    assert set(failed) == {"epsilon_within_budget", "no_residual_identifiers"}
    assert "9.5 <= 8.0 does not hold" in failed["epsilon_within_budget"]


@pytest.mark.parametrize("policy", ["hipaa", "bank"])
def test_a_seeded_run_fails_every_shipped_policy(policy):
    facts = _with(privacy={"secure_rng": False}, train={"seed": 0})
    failed = [r.id for r in evaluate_policy(load_policy(policy), facts).rules if not r.passed]
    assert failed == ["secure_randomness"]


def test_policies_check_the_declared_unit_and_the_delta_for_the_people_not_a_column_name():
    member = _with(privacy={"unit_column": "member_id", "unit_name": "member"})
    assert evaluate_policy(load_policy("hipaa"), member).passed  # a clinic's own column name
    per_record = _with(privacy={"unit_kind": "record"}, ledger={})
    wide_delta = _with(privacy={"delta_times_units": 0.5})
    stopped = _with(train={"stopped_early": True})
    for facts, rule in ((per_record, "privacy_unit_is_a_person"),
                        (wide_delta, "delta_below_one_tenth_over_n"),
                        (stopped, "training_completed")):  # fmt: skip
        failed = [r.id for r in evaluate_policy(load_policy("hipaa"), facts).rules if not r.passed]
        assert failed == [rule]


def test_an_untrusted_record_fails_the_evidence_rule_and_every_other():
    decision = evaluate_policy(load_policy("hipaa"), None, evidence_problems=["seal broken"])
    assert not any(r.passed for r in decision.rules)
    assert decision.rules[0].id == "evidence" and decision.rules[0].reason == "seal broken"
    tampered = evaluate_policy(load_policy("hipaa"), GOOD, evidence_problems=["tags differ"])
    assert not tampered.passed and [r.id for r in tampered.rules if not r.passed] == ["evidence"]


def test_a_cumulative_bound_without_a_ledger_fact_fails():
    facts = GOOD.model_copy(update={"ledger": LedgerFacts()})
    decision = evaluate_policy(load_policy("hipaa"), facts)
    reason = next(r.reason for r in decision.rules if r.id == "cumulative_epsilon_within_budget")
    assert not decision.passed and "not recorded" in reason


def test_a_policy_naming_an_unknown_fact_is_an_error_when_it_loads(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("name: p\nrules:\n  - {id: a, fact: privacy.epsilom, op: '<=', value: 1}\n")
    with pytest.raises(ConfigError, match=r"unknown fact 'privacy\.epsilom'"):
        load_policy(path)


def test_invalid_policy_lists_every_error(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: p\nrules:\n  - {id: a, fact: x, op: '~', value: 1}\n  - {id: b, op: '<'}\n"
    )
    with pytest.raises(ConfigError) as error:
        load_policy(path)
    assert len(error.value.problems) >= 3


@pytest.mark.parametrize("policy", ["hipaa", "bank"])
def test_an_audit_bound_above_the_claimed_epsilon_fails_loudly(policy):
    leaky = _with(audit={"epsilon_lower_bound": 5.2, "correct_guesses": 64, "guesses": 64})
    decision = evaluate_policy(load_policy(policy), leaky)
    failed = {r.id: r.reason for r in decision.rules if not r.passed}
    assert list(failed) == ["audit_lower_bound_within_claim"]
    reason = failed["audit_lower_bound_within_claim"]
    assert reason.startswith("PRIVACY GUARANTEE FALSIFIED BY THE AUDIT")
    assert "audit.epsilon_lower_bound = 5.2 <= privacy.epsilon = 3.9 does not hold" in reason


def test_a_version_without_an_audit_fails_the_audit_rule():
    unaudited = GOOD.model_copy(update={"audit": AuditFacts()})
    failed = [r for r in evaluate_policy(load_policy("hipaa"), unaudited).rules if not r.passed]
    assert [r.id for r in failed] == ["audit_lower_bound_within_claim"]
    assert failed[0].reason == "fact 'audit.epsilon_lower_bound' was not recorded"


def test_a_rule_takes_one_bound_and_only_known_facts(tmp_path):
    from strongroom.governance.gate import Rule

    with pytest.raises(ValueError, match="exactly one of value and value_of"):
        Rule(id="r", fact="privacy.epsilon", op="<=", value=1.0, value_of="privacy.delta")
    with pytest.raises(ValueError, match="unknown fact"):
        Rule(id="r", fact="privacy.epsilon", op="<=", value_of="privacy.epsilom")
