"""`strongroom demo --plan auto`: the planner's plan for the demo at the demo's own compute.

The budget is what the default demo plan (the `demo` preset, batch 64, 3 epochs, 512 bytes)
spends on the same people, so an auto-planned demo takes about as long on the same machine and
the two plans are compared at equal compute (benchmarks/plan_sweep.py measures both).
"""

from __future__ import annotations

import math

from strongroom.model.config import PRESETS
from strongroom.planning.compute import flops_per_token
from strongroom.planning.planner import Plan, make_plan
from strongroom.privacy.plan import PrivacyParams, poisson_rate

DEFAULT_PRESET = "demo"
SEQ_LEN = 512  # RecordsParams' max_seq_len default: what the demo trains on


def training_units(units: int, *, eval_fraction: float, canaries: int) -> int:
    """People the demo trains on, as expected: the held-out share drawn per person is rounded
    down (as the demo's size check does) and about half the canaries are planted."""
    return math.floor(units * (1 - eval_fraction)) + canaries // 2


def default_flops(units: int, *, batch_size: int, epochs: float) -> float:
    """FLOPs of the default demo plan on `units` training people."""
    rate = poisson_rate(units, batch_size)
    steps = max(1, round(epochs / rate))
    cfg = PRESETS[DEFAULT_PRESET]
    return steps * batch_size * SEQ_LEN * flops_per_token(cfg, SEQ_LEN)


def demo_plan(units: int, *, epsilon: float, eval_fraction: float, canaries: int) -> Plan:
    """The planner's plan for a demo of `units` generated people at `epsilon`."""
    defaults = PrivacyParams()
    people = training_units(units, eval_fraction=eval_fraction, canaries=canaries)
    budget = default_flops(people, batch_size=defaults.batch_size, epochs=defaults.epochs)
    return make_plan(
        epsilon=epsilon, delta=defaults.delta, units=people, budget_flops=budget, seq_len=SEQ_LEN
    )
