"""Training settings: how a DP plan is run (the plan itself says what is spent)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from strongroom.privacy.accounting import DEFAULT_TOLERANCE


@dataclass(frozen=True)
class TrainSettings:
    learning_rate: float = 2e-3  # Adam; DP-SGD favours larger rates and larger batches
    seed: int = 0  # model init, and (unless secure_mode) the sampler and the noise
    secure_mode: bool = False  # sampling and noise from a CSPRNG (privacy/secure_rng.py)
    physical_batch_size: int | None = None  # people per forward pass; None = whole logical batch
    device: str = "auto"  # cpu | cuda | auto (cuda when available)
    bf16: bool = True  # bfloat16 autocast on CUDA (weights, clipping and noise stay float32)
    state_dir: str | None = None  # where the resumable state lives; None = no checkpoints
    checkpoint_every: int = 50  # steps between saved states
    max_steps: int | None = None  # stop at this step (early stop: epsilon of the steps taken)
    epsilon_every: int = 10  # steps between epsilon evaluations for the log and progress bar
    accountant_tolerance: float = DEFAULT_TOLERANCE  # PRV vs PLD, relative
    progress: bool = True  # a progress bar on stderr
    on_step: Callable[[int], None] | None = None  # called after each step and its checkpoint
