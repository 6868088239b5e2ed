import pytest
from strongroom.governance.gate import evaluate_policy, load_policy

from strongroom.errors import ConfigError
from strongroom.run_record.facts import Facts, LedgerFacts

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
