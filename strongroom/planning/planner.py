"""The planner: the best DP training plan for a number of people, a budget and a compute budget.

`make_plan` ranks every candidate (candidates.py) by the law's predicted held-out loss and
chooses the cheapest one whose prediction is within TIE of the best: plans the law cannot tell
apart are not worth extra compute, and at small epsilons extra steps buy nothing (the noise they
need grows as fast as the signal they add). The chosen plan becomes a config `strongroom run`
accepts (`to_config`); the run calibrates its own sigma with the PRV and PLD accountants, which
is never above the planner's RDP sigma. Tests: tests/planning/test_planner.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from strongroom.errors import StrongroomError
from strongroom.planning.candidates import MAX_EPOCHS, Candidate, candidates
from strongroom.planning.law import LossLaw, load_law
from strongroom.privacy.plan import EPSILON_MAX, EPSILON_MIN

PLAN_EPSILON_MAX = 1000.0  # the planner answers up to here; runs accept up to EPSILON_MAX
TIE = 0.005  # relative: predictions closer than this are one plan for the law's purposes
DEFAULT_MAX_GRAD_NORM = 1.0


@dataclass(frozen=True)
class Plan:
    epsilon: float
    delta: float
    units: int
    seq_len: int
    budget_flops: float
    chosen: Candidate
    ranked: list[Candidate]  # every candidate, best predicted loss first
    law: LossLaw
    warnings: list[str] = field(default_factory=list)

    @property
    def runnable(self) -> bool:
        """Whether `strongroom run` accepts this epsilon."""
        return EPSILON_MIN <= self.epsilon <= EPSILON_MAX

    def explanation(self) -> str:
        """One sentence for a data protection officer."""
        c = self.chosen
        return (
            f"To keep the promise that adding or removing any one of the {self.units:,} people "
            f"changes what the model can reveal by at most epsilon {self.epsilon:g} (failure "
            f"chance delta {self.delta:g}), every training step adds random noise; this plan "
            f"trains a {c.params:,}-parameter model ('{c.preset}') for {c.steps} steps, each on "
            f"a random group of about {c.batch_size:,} people so that the noise is shared out "
            f"over many people, because among the {len(self.ranked)} plans that fit the compute "
            f"budget it is predicted to learn the most for that noise, or as much as the best "
            f"within {TIE:.1%} for less compute (and a bigger model or more passes over the data "
            f"would need more noise than they gain)."
        )


def make_plan(
    *,
    epsilon: float,
    delta: float,
    units: int,
    budget_flops: float,
    seq_len: int = 512,
    law: LossLaw | None = None,
    presets: tuple[str, ...] | None = None,
) -> Plan:
    """The ranked candidates and the chosen plan; `presets` narrows the models (default all)."""
    problems = []
    if not EPSILON_MIN <= epsilon <= PLAN_EPSILON_MAX:
        problems.append(f"epsilon must be in [{EPSILON_MIN}, {PLAN_EPSILON_MAX:g}], got {epsilon}")
    if units < 2 * 8:
        problems.append(f"need at least 16 people to plan, got {units}")
    elif not 0 < delta < 1 / units:
        problems.append(f"delta {delta:g} must be in (0, 1/units = {1 / units:g})")
    if seq_len < 16:
        problems.append(f"sequence length must be 16 or more, got {seq_len}")
    if problems:
        raise StrongroomError("; ".join(problems))
    law = law or load_law()
    found = candidates(
        epsilon=epsilon,
        delta=delta,
        units=units,
        budget=budget_flops,
        seq_len=seq_len,
        law=law,
        presets=presets,
    )
    if not found:
        raise StrongroomError(
            f"no plan fits {budget_flops:.3g} FLOPs: the smallest model needs more for 10 steps "
            f"of the smallest batch at sequence length {seq_len}"
        )
    ranked = sorted(found, key=lambda c: (c.predicted_loss, c.flops))
    best = ranked[0].predicted_loss
    chosen = min((c for c in ranked if c.predicted_loss <= best * (1 + TIE)), key=lambda c: c.flops)
    warnings = []
    if epsilon > EPSILON_MAX:
        warnings.append(
            f"epsilon {epsilon:g} is not a meaningful guarantee (e^{epsilon:g} bounds no odds "
            f"anyone cares about); `strongroom run` accepts {EPSILON_MIN} to {EPSILON_MAX:g} "
            "and refuses this plan"
        )
    if chosen.epochs > 0.9 * MAX_EPOCHS and chosen.flops < 0.5 * budget_flops:
        warnings.append(
            f"the plan stops near {MAX_EPOCHS:g} passes over the people and spends "
            f"{chosen.flops / budget_flops:.1%} of the budget: more compute would repeat each "
            "person more often, which the law was not fitted on; more people would help more"
        )
    if chosen.extrapolated:
        low, high = law.provenance.get("params_range", (0, 0))
        warnings.append(
            f"the loss law was fitted on models of {low:,.0f} to {high:,.0f} parameters; the "
            f"chosen {chosen.params:,} is outside that range: its prediction is an extrapolation"
        )
    return Plan(epsilon, delta, units, seq_len, budget_flops, chosen, ranked, law, warnings)


def table(plan: Plan, rows: int = 10) -> str:
    """The ranked candidates, best first; the chosen one marked with '*'."""
    head = (
        "  rank preset             params  batch  steps epochs   sigma  sigma/B  noise/sig "
        "tok/param    FLOPs    Adam  pred.loss"
    )
    share = plan.chosen.flops / plan.budget_flops
    lines = [
        f"budget {plan.budget_flops:.3g} FLOPs; the chosen plan spends {share:.1%} of it",
        head,
    ]
    shown = plan.ranked[:rows]
    if plan.chosen not in shown:
        shown = [*shown, plan.chosen]
    for c in shown:
        rank = plan.ranked.index(c) + 1
        mark = "*" if c is plan.chosen else " "
        lines.append(
            f"{mark}{rank:>5} {c.preset:<14} {c.params:>10,} {c.batch_size:>6} {c.steps:>6} "
            f"{c.epochs:>6.2f} {c.noise_multiplier:>7.3f} {c.noise_batch_ratio:>8.4f} "
            f"{c.noise_to_signal:>10.3g} {c.tokens_per_parameter(plan.seq_len):>9.3g} "
            f"{c.flops:>8.2e} {rate_label(c):>7} {c.predicted_loss:>9.3f}"
            f"{' (extrap.)' if c.extrapolated else ''}"
        )
    return "\n".join(lines)


def rate_label(c: Candidate) -> str:
    """Adam's planned rate; 'default' when the law has no rate rule (TrainSettings' then)."""
    return "default" if c.learning_rate is None else f"{c.learning_rate:g}"


def to_config(plan: Plan, *, records_path: str, max_grad_norm: float = DEFAULT_MAX_GRAD_NORM):
    """The chosen plan as the groups of a `strongroom run` config (RunParams)."""
    if not plan.runnable:
        raise StrongroomError(
            f"epsilon {plan.epsilon:g} is outside what `strongroom run` accepts "
            f"({EPSILON_MIN} to {EPSILON_MAX:g}): no config written"
        )
    c = plan.chosen
    groups: dict[str, Any] = {
        "records": {"path": records_path, "max_seq_len": plan.seq_len},
        "privacy": {
            "target_epsilon": plan.epsilon,
            "delta": plan.delta,
            "max_grad_norm": max_grad_norm,
            "batch_size": c.batch_size,
            "epochs": round(c.epochs, 6),  # steps x rate; round(epochs / rate) gives back steps
        },
        "training": {
            "model_preset": c.preset,
            **({} if c.learning_rate is None else {"learning_rate": c.learning_rate}),
        },
    }
    return groups


def config_text(
    plan: Plan, *, records_path: str, max_grad_norm: float = DEFAULT_MAX_GRAD_NORM
) -> str:
    """The YAML file: the plan's groups under a header that says where they came from."""
    import yaml

    groups = to_config(plan, records_path=records_path, max_grad_norm=max_grad_norm)
    c = plan.chosen
    header = [
        "# Written by `strongroom plan`: "
        f"{plan.units:,} people, epsilon {plan.epsilon:g}, delta {plan.delta:g}, "
        f"budget {plan.budget_flops:.3g} FLOPs.",
        f"# Planned: {c.steps} steps, sigma ~{c.noise_multiplier:.3f} by RDP (the run calibrates "
        f"its own, never larger), Adam {rate_label(c)}, predicted held-out loss "
        f"{c.predicted_loss:.3f} ({plan.law.provenance.get('units', 'law units')}).",
        "# Edit records.path (and contract, key_file, release ...) for your site.",
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump(groups, sort_keys=False)


def noise_batch_summary(plan: Plan) -> dict[str, Any]:
    """The chosen plan's figures as plain values (for JSON output and tests)."""
    c = plan.chosen
    return {
        "preset": c.preset, "params": c.params, "batch_size": c.batch_size, "steps": c.steps,
        "epochs": c.epochs, "noise_multiplier": c.noise_multiplier,
        "noise_batch_ratio": c.noise_batch_ratio, "noise_to_signal": c.noise_to_signal,
        "tokens_per_parameter": c.tokens_per_parameter(plan.seq_len), "flops": c.flops,
        "predicted_loss": c.predicted_loss, "learning_rate": c.learning_rate,
        "runnable": plan.runnable,
        "sigma_is_finite": math.isfinite(c.noise_multiplier),
    }  # fmt: skip
