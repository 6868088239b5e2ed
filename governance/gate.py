"""The compliance gate: a policy (YAML) evaluated on the facts recorded for a model version.

Each rule compares one fact (a name defined in strongroom.run_record.facts; a policy naming any
other is rejected when it loads) with a bound and yields pass/fail with a reason. The facts are
the version's sealed run record, never its tags: when the record cannot be trusted (a seal that
does not verify, edited tags, other weights) the `evidence` rule fails with the reasons, and a
gate without trusted facts fails every rule.
"""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from strongroom.config import load_yaml_model
from strongroom.run_record.facts import Facts

_OPS = {
    "<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt,
    "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    description: str = ""
    fact: str  # a recorded fact, e.g. privacy.epsilon
    op: Literal["<=", "<", ">=", ">", "==", "!="]
    value: float | int | bool | str | None = None  # a bound; or
    value_of: str | None = None  # another fact as the bound, e.g. privacy.epsilon
    alarm: str = ""  # said first, in capitals, when the rule fails (a leak, not a setting)

    @field_validator("fact", "value_of")
    @classmethod
    def _known_fact(cls, name: str | None) -> str | None:
        from strongroom.run_record.facts import fact_names

        if name is not None and name not in fact_names():
            raise ValueError(f"unknown fact {name!r}; facts are: {', '.join(fact_names())}")
        return name

    @model_validator(mode="after")
    def _one_bound(self) -> Rule:
        if (self.value is None) == (self.value_of is None):
            raise ValueError("a rule takes exactly one of value and value_of")
        return self


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: int = 1  # bump when a rule changes: the decision records name and version
    regime: str = ""
    description: str = ""
    rules: list[Rule] = Field(min_length=1)


@dataclass(frozen=True)
class RuleResult:
    id: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class GateDecision:
    policy: str
    passed: bool
    rules: list[RuleResult]
    policy_version: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "policy_version": self.policy_version,
            "passed": self.passed,
            "rules": [asdict(r) for r in self.rules],
        }


BUILTIN_POLICIES = ("hipaa", "bank")


def load_policy(name_or_path: str | Path) -> Policy:
    if str(name_or_path) in BUILTIN_POLICIES:
        ref = resources.files("strongroom.governance") / "policies" / f"{name_or_path}.yaml"
        with resources.as_file(ref) as path:
            return load_yaml_model(path, Policy)
    return load_yaml_model(name_or_path, Policy)


EVIDENCE_RULE = "evidence"


def check_rule(rule: Rule, facts: Facts | None) -> RuleResult:
    if facts is None:
        return RuleResult(rule.id, False, "no trusted record of the version: see rule evidence")
    actual = facts.get(rule.fact)
    if actual is None:
        return RuleResult(rule.id, False, f"fact {rule.fact!r} was not recorded")
    bound = facts.get(rule.value_of) if rule.value_of else rule.value
    if bound is None:
        return RuleResult(rule.id, False, f"fact {rule.value_of!r} was not recorded")
    named = f"{rule.value_of} = {bound!r}" if rule.value_of else repr(bound)
    try:
        passed = bool(_OPS[rule.op](actual, bound))
    except TypeError:
        return RuleResult(rule.id, False, f"{rule.fact}={actual!r} cannot be compared with {named}")
    verdict = "holds" if passed else "does not hold"
    reason = f"{rule.fact} = {actual!r} {rule.op} {named} {verdict}"
    if not passed and rule.alarm:
        reason = f"{rule.alarm.upper()}: {reason}"
    return RuleResult(rule.id, passed, reason)


def evaluate_policy(
    policy: Policy, facts: Facts | None, *, evidence_problems: list[str] | None = None
) -> GateDecision:
    """Every rule, after the evidence rule (the record verified, the tags match it)."""
    problems = list(evidence_problems or [])
    evidence = RuleResult(
        EVIDENCE_RULE,
        facts is not None and not problems,
        "; ".join(problems) or "sealed run record verified; tags match it",
    )
    results = [evidence, *(check_rule(rule, facts) for rule in policy.rules)]
    return GateDecision(
        policy.name, all(r.passed for r in results), results, policy_version=policy.version
    )
