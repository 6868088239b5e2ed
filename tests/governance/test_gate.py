import pytest
from strongroom.governance.gate import evaluate_policy, load_policy

from strongroom.errors import ConfigError

GOOD = {
    "privacy.epsilon": 3.9,
    "privacy.delta": 1e-5,
    "privacy.unit": "patient_id",
    "privacy.accountant_gap": 0.01,
    "validation.success": True,
    "deid.residual_identifiers": 0,
}


def test_hipaa_passes_on_good_facts():
    decision = evaluate_policy(load_policy("hipaa"), GOOD)
    assert decision.passed and all(r.passed for r in decision.rules)


def test_each_violation_is_named_with_its_reason():
    facts = {**GOOD, "privacy.epsilon": 9.5, "deid.residual_identifiers": 2}
    decision = evaluate_policy(load_policy("hipaa"), facts)
    failed = {r.id: r.reason for r in decision.rules if not r.passed}
    assert not decision.passed
    assert set(failed) == {"epsilon_within_budget", "no_residual_identifiers"}
    assert "9.5 <= 8.0 does not hold" in failed["epsilon_within_budget"]


def test_a_missing_fact_fails_its_rule():
    facts = {k: v for k, v in GOOD.items() if k != "privacy.unit"}
    decision = evaluate_policy(load_policy("hipaa"), facts)
    assert not decision.passed
    assert "not recorded" in next(
        r.reason for r in decision.rules if r.id == "privacy_unit_is_patient"
    )


def test_invalid_policy_lists_every_error(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: p\nrules:\n  - {id: a, fact: x, op: '~', value: 1}\n  - {id: b, op: '<'}\n"
    )
    with pytest.raises(ConfigError) as error:
        load_policy(path)
    assert len(error.value.problems) >= 3
