"""The demo's plans: the planner's (the default) and the fixed, hand-tuned one whose compute it
gets.

`strongroom demo` trains what the planner chooses for its people and epsilon within the fixed
plan's FLOPs (`demo_plan`); `--plan fixed` (or a given preset, passes or batch) trains the fixed
plan. The fixed plan was sized so that `make demo` (DP training and its non-private reference
included) stays within two minutes on a 2-core CPU. What it trades, measured on generated
records at epsilon 4 (benchmarks/plan_sweep.py; docs/training.md "The demo's plan"):

- 384 bytes of each patient's history instead of 512: about one encounter (the generated ones are
  365 to 375 bytes), so most examples end a record and the rest of a history is not trained on
  (`--sequences-per-person` trains on more of it);
- 2 passes (60 steps of 64) instead of 3 (90);
- Adam at 0.03 for DP-SGD: against TrainSettings' 0.002, held-out loss at 90 steps of 512 bytes
  1.32 against 2.33 (1.93 at 0.006, 1.30 at 0.015), and 1.56 at 45 steps; the noise Adam
  normalises lets a larger rate through. The non-private reference trains at 0.006, where it
  does best (384 bytes, 60 steps: 0.89 at 0.006, 0.95 at 0.015, 1.22 at 0.03).

The rates were tuned on generated records, never on anyone's data: choosing them on private
records would spend privacy too. The planner's budget is what the fixed plan spends on the same
people, so the two are compared at equal compute; its Adam rate comes from the law's rate rule
(rates.py), its reference's from DEMO_PLANNED_REFERENCE_LEARNING_RATE.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads the constants below at start-up: models and planner load later
    from strongroom.planning.planner import Plan

DEFAULT_PRESET = "demo"
DEMO_SEQ_LEN = 384  # bytes of a patient's history the demo trains on (records.max_seq_len)
DEMO_EPOCHS = 2.0  # passes over the patients (privacy.epochs)
DEMO_LEARNING_RATE = 0.03  # Adam under DP-SGD (training.learning_rate)
DEMO_REFERENCE_LEARNING_RATE = 0.006  # Adam without privacy (training.reference_learning_rate)
# From a public model (`--init-from`) both runs fine-tune: 0.03 would undo much of the start.
# Measured at 384 bytes, 60 steps, from the ICD-10-CM model: DP 0.969 at 0.01, reference 0.29 at
# 0.003 (at 512 bytes and 90 steps DP gave 0.78 at 0.006 and 0.97 at 0.015; docs/training.md).
DEMO_INIT_LEARNING_RATE = 0.01
DEMO_INIT_REFERENCE_LEARNING_RATE = 0.003
# The reference of the planner's demo plan ('tiny', batch 64, 320 steps at 2,000 people and
# epsilon 4): plain Adam over 320 steps, 384 bytes, held-out 0.527 / 0.350 / 0.209 / 0.236 / 0.369
# at 0.003 / 0.006 / 0.015 / 0.017 / 0.03. Other demo sizes plan other shapes; this stays their
# reference rate, untuned (a reference below its best would make privacy look cheaper).
DEMO_PLANNED_REFERENCE_LEARNING_RATE = 0.015


def demo_rates(*, from_public_model: bool, planned: float | None = None) -> dict[str, float]:
    """Adam's rates (training group fields) of the fixed plan, from scratch or fine-tuning, or
    of the planner's plan from scratch when its DP rate is `planned`."""
    if planned is not None and not from_public_model:
        return {"learning_rate": planned,
                "reference_learning_rate": DEMO_PLANNED_REFERENCE_LEARNING_RATE}  # fmt: skip
    if from_public_model:
        return {"learning_rate": DEMO_INIT_LEARNING_RATE,
                "reference_learning_rate": DEMO_INIT_REFERENCE_LEARNING_RATE}  # fmt: skip
    return {"learning_rate": DEMO_LEARNING_RATE,
            "reference_learning_rate": DEMO_REFERENCE_LEARNING_RATE}  # fmt: skip


def training_units(units: int, *, eval_fraction: float, canaries: int) -> int:
    """People the demo trains on, as expected: the held-out share drawn per person is rounded
    down (as the demo's size check does) and about half the canaries are planted."""
    return math.floor(units * (1 - eval_fraction)) + canaries // 2


def default_flops(
    units: int, *, batch_size: int, epochs: float = DEMO_EPOCHS, seq_len: int = DEMO_SEQ_LEN
) -> float:
    """FLOPs of the default demo plan on `units` training people."""
    from strongroom.model.config import PRESETS
    from strongroom.planning.compute import flops_per_token
    from strongroom.privacy.plan import poisson_rate

    rate = poisson_rate(units, batch_size)
    steps = max(1, round(epochs / rate))
    cfg = PRESETS[DEFAULT_PRESET]
    return steps * batch_size * seq_len * flops_per_token(cfg, seq_len)


def demo_plan(
    units: int,
    *,
    epsilon: float,
    eval_fraction: float,
    canaries: int,
    seq_len: int = DEMO_SEQ_LEN,
) -> Plan:
    """The planner's plan for a demo of `units` generated people at `epsilon`, on `seq_len`
    bytes a person, at the default plan's compute."""
    from strongroom.planning.planner import make_plan
    from strongroom.privacy.plan import PrivacyParams

    defaults = PrivacyParams()
    people = training_units(units, eval_fraction=eval_fraction, canaries=canaries)
    budget = default_flops(people, batch_size=defaults.batch_size, seq_len=seq_len)
    return make_plan(
        epsilon=epsilon,
        delta=defaults.delta,
        units=people,
        budget_flops=budget,
        seq_len=seq_len,
    )
