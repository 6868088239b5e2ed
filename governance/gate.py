"""The compliance gate: a policy (YAML) evaluated on the facts recorded for a model version.

Each rule compares one fact with a bound and yields pass/fail with a reason; a missing fact fails
its rule (a gate that cannot see a fact must not wave the model through).
"""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from strongroom.config import load_yaml_model

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
    value: float | int | bool | str


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
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


def check_rule(rule: Rule, facts: dict[str, Any]) -> RuleResult:
    if rule.fact not in facts:
        return RuleResult(rule.id, False, f"fact {rule.fact!r} was not recorded")
    actual = facts[rule.fact]
    try:
        passed = bool(_OPS[rule.op](actual, rule.value))
    except TypeError:
        return RuleResult(
            rule.id, False, f"{rule.fact}={actual!r} cannot be compared with {rule.value!r}"
        )
    verdict = "holds" if passed else "does not hold"
    return RuleResult(
        rule.id, passed, f"{rule.fact} = {actual!r} {rule.op} {rule.value!r} {verdict}"
    )


def evaluate_policy(policy: Policy, facts: dict[str, Any]) -> GateDecision:
    results = [check_rule(rule, facts) for rule in policy.rules]
    return GateDecision(policy.name, all(r.passed for r in results), results)
