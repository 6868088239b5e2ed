"""DP-SGD with Opacus: Poisson sampling over people, per-person ghost clipping, Gaussian noise.

Each row of the training tensor is one person, so Opacus' per-sample clipping is per-person
clipping and its Poisson sampler samples people. One logical (Poisson) batch is one optimizer
step; Opacus' BatchMemoryManager cuts it into physical batches that fit in memory and adds the
noise once, on the last. The run never goes past the plan's steps, so never past the budget, and
the epsilon recorded is the accountants' value for the steps actually taken.

Resuming: with `checkpoint_dir` set, the full training state (weights, optimizer, accountant
history, sampler and noise generators, step) is saved every `checkpoint_every` steps and picked up
by the next run on the same corpus, model and hyper-parameters (training/checkpoint.py keys it on
them), which then goes on exactly where the saved one was. Under torchrun every rank agrees on the
step before it resumes and before it stops.
"""

from __future__ import annotations

import logging
import math
import signal
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from strongroom.errors import PrivacyBudgetError
from strongroom.model.artifact import load_decoder
from strongroom.model.config import GemmaConfig
from strongroom.model.gemma import GemmaDecoder
from strongroom.privacy.mechanism import Epsilons, Mechanism
from strongroom.privacy.plan import DPPlan
from strongroom.training.checkpoint import (
    STATE_FILE,
    StateKey,
    StepLog,
    fingerprint_state,
    fingerprint_tokens,
    load_state,
    remove_state,
    restore,
    save_state,
)
from strongroom.training.parts import (
    Parts,
    build_parts,
    decoder_of,
    initial_model,
    rank_and_world,
)
from strongroom.training.settings import TrainSettings
from strongroom.training.step import StepStats, one_step

__all__ = ["TrainResult", "TrainSettings", "load_checkpoint", "save_checkpoint", "train_dp"]

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    model: GemmaDecoder
    steps: int  # steps taken, resumed ones included
    mechanism: Mechanism | None = None  # what ran: the plan's mechanism for the steps taken
    epsilons: Epsilons | None = None  # of `mechanism`, both accountants, cross-checked
    log: StepLog = field(default_factory=StepLog)
    seconds: float = 0.0  # this run's training time (not the resumed part)
    tokens: int = 0  # non-padding target tokens trained on in this run
    resumed_from: int = 0  # the step the run started from (0: a fresh run)
    stopped_early: bool = False  # max_steps or SIGTERM before the plan's last step
    interrupted: bool = False  # SIGTERM: the state is saved to be resumed, no model to release

    @property
    def epsilon(self) -> float:
        """The reported epsilon: the larger of PRV and PLD for the steps taken."""
        return self.epsilons.reported if self.epsilons else 0.0

    @property
    def losses(self) -> list[float]:
        return self.log.losses

    @property
    def batch_sizes(self) -> list[int]:
        return self.log.batch_sizes


class _StopSignal:
    """SIGTERM (Kubernetes' notice before a kill) ends the run after the current step."""

    def __init__(self) -> None:
        self.received = False

    @contextmanager
    def installed(self) -> Any:
        def handler(signum: int, frame: Any) -> None:
            log.warning("SIGTERM: stopping after this step, state saved, epsilon of steps taken")
            self.received = True

        try:
            previous = signal.signal(signal.SIGTERM, handler)
        except ValueError:  # not the main thread: no signal handling
            yield self
            return
        try:
            yield self
        finally:
            signal.signal(signal.SIGTERM, previous)


def train_dp(
    tokens: np.ndarray,
    model_cfg: GemmaConfig,
    plan: DPPlan,
    settings: TrainSettings,
    *,
    progress: bool = True,
    on_step: Callable[[int], None] | None = None,
    initial: dict[str, torch.Tensor] | None = None,
) -> TrainResult:
    """Train on `tokens` ([units, T] or [units, k, T] int, one row per person) following `plan`.

    A person's k sequences are drawn together and clipped together (training/step.py): the
    privacy unit, the sampling and the accountant are the same whatever k is.

    `on_step` is called after each step and its checkpoint (tests kill the process there).
    `initial`: starting weights (a state dict of a model trained on public text only); None:
    the seeded random initialisation. Either is data-independent, so the accounting is the same.
    """
    if len(tokens) != plan.units:
        raise PrivacyBudgetError(f"plan is for {plan.units} units, data has {len(tokens)}")
    model = initial_model(model_cfg, settings, initial)
    parts = build_parts(model, tokens, plan, settings)
    state_file = state_file_of(settings)
    key = state_key(tokens, model_cfg, plan, settings, initial)
    step, steps_log = _resume(state_file, key, parts, plan)
    last = min(plan.steps, settings.max_steps or plan.steps)
    result = TrainResult(model=model, steps=step, log=steps_log, resumed_from=step)
    started = time.monotonic()
    parts.model.train()
    with _progress(plan, step, progress) as bar, _StopSignal().installed() as stop:
        while result.steps < last and not _agreed_stop(stop.received, parts):
            stats = one_step(parts, plan, settings)
            result.steps += 1
            result.tokens += stats.tokens
            _record(result, stats, parts, plan, settings, last)
            bar.set_postfix_str(_postfix(result, plan, started), refresh=False)
            bar.update(1)  # redraws, postfix included
            if state_file and result.steps % settings.checkpoint_every == 0:
                _save(state_file, key, result, parts)
            if on_step is not None:
                on_step(result.steps)
    if state_file and result.steps > result.resumed_from:
        _save(state_file, key, result, parts)
    result.seconds = time.monotonic() - started
    result.stopped_early = result.steps < plan.steps
    result.interrupted = result.steps < last
    return _finish(result, parts, plan, settings)


def state_key(
    tokens: np.ndarray,
    model_cfg: GemmaConfig,
    plan: DPPlan,
    settings: TrainSettings,
    initial: dict[str, torch.Tensor] | None = None,
) -> StateKey:
    """What a saved state trains: it resumes only a run on all of the same."""
    hyper = {
        **plan.to_dict(),
        "learning_rate": settings.learning_rate,
        "seed": settings.seed,
        "physical_batch_size": settings.physical_batch_size,
    }
    if initial is not None:  # only then: states saved before starting weights existed still match
        hyper["initial_weights_sha256"] = fingerprint_state(initial)
    return StateKey(
        corpus_sha256=fingerprint_tokens(tokens),
        model_config=model_cfg.to_dict(),
        hyper_parameters=hyper,
        world_size=rank_and_world()[1],
    )


def _agreed_stop(received: bool, parts: Parts) -> bool:
    """Under torchrun a SIGTERM reaches the ranks at different moments: all stop if one does."""
    if rank_and_world()[1] == 1:
        return received
    device = next(parts.model.parameters()).device
    flag = torch.tensor([1.0 if received else 0.0], device=device)  # [1]
    torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
    return bool(flag.item() > 0)


def _agree_on_step(step: int, parts: Parts) -> None:
    """Every rank must resume from the same step, or their accountants would disagree."""
    if rank_and_world()[1] == 1:
        return
    device = next(parts.model.parameters()).device
    low = torch.tensor([float(step)], device=device)  # [1]
    high = low.clone()  # [1]
    torch.distributed.all_reduce(low, op=torch.distributed.ReduceOp.MIN)
    torch.distributed.all_reduce(high, op=torch.distributed.ReduceOp.MAX)
    if low.item() != high.item():
        raise PrivacyBudgetError(
            f"ranks saved different steps ({int(low.item())} to {int(high.item())}); "
            "remove the state files to start over"
        )


def state_file_of(settings: TrainSettings) -> Path | None:
    """One state file per rank: each rank's sampler generator is its own."""
    if not settings.checkpoint_dir:
        return None
    rank, world = rank_and_world()
    name = STATE_FILE if world == 1 else STATE_FILE.replace(".pt", f".rank{rank}.pt")
    return Path(settings.checkpoint_dir) / name


def finish_state(settings: TrainSettings, *, completed: bool) -> None:
    """A completed run's state is removed (every rank its own, once rank 0 wrote the model), so
    that no later run can resume it; a stopped run keeps it, to be resumed."""
    state_file = state_file_of(settings)
    if state_file is None or not completed:
        return
    if rank_and_world()[1] > 1:
        torch.distributed.barrier()
    remove_state(state_file)


def _resume(
    state_file: Path | None, key: StateKey, parts: Parts, plan: DPPlan
) -> tuple[int, StepLog]:
    state = load_state(state_file, key) if state_file else None
    if state is None:
        _agree_on_step(0, parts)
        return 0, StepLog()
    step, steps_log = restore(
        state,
        model=decoder_of(parts),
        optimizer=parts.optimizer,
        accountant=parts.engine.accountant,
        sampler_generator=parts.sampler_rng,
        noise_generator=parts.noise_rng,
    )
    _agree_on_step(step, parts)
    log.info("resuming at step %d of %d from %s", step, plan.steps, state_file)
    return step, steps_log


def _save(state_file: Path, key: StateKey, result: TrainResult, parts: Parts) -> None:
    save_state(
        state_file,
        key=key,
        step=result.steps,
        model=decoder_of(parts),
        optimizer=parts.optimizer,
        accountant=parts.engine.accountant,
        sampler_generator=parts.sampler_rng,
        noise_generator=parts.noise_rng,
        log=result.log,
    )


def _record(
    result: TrainResult,
    stats: StepStats,
    parts: Parts,
    plan: DPPlan,
    settings: TrainSettings,
    last: int,
) -> None:
    people = stats.people
    result.log.losses.append(stats.loss_sum / people if people else math.nan)
    result.log.batch_sizes.append(people)
    result.log.clip_fractions.append(stats.clipped / people if people else 0.0)
    if result.steps % settings.epsilon_every == 0 or result.steps == last:
        epsilon = float(parts.engine.accountant.get_epsilon(delta=plan.delta))
        result.log.epsilons.append((result.steps, epsilon))
        log.info(
            "step %d/%d loss %.4f epsilon %.4f", result.steps, plan.steps,
            result.log.losses[-1], epsilon,
        )  # fmt: skip


def _postfix(result: TrainResult, plan: DPPlan, started: float) -> str:
    """Loss, epsilon so far and speed. Epsilon is the accountants' where this step computed it,
    else RDP's bound (marked <=), which is cheap enough for every step and never below it."""
    rate = result.tokens / max(time.monotonic() - started, 1e-9)
    logged = result.log.epsilons[-1] if result.log.epsilons else None
    if logged is not None and logged[0] == result.steps:
        epsilon = f"eps {logged[1]:.3f}"
    else:
        epsilon = f"eps<={plan.mechanism.after(result.steps).rdp_upper_bound():.3f}"
    return f"loss {result.log.losses[-1]:.3f} {epsilon} {rate:,.0f} tok/s"


@contextmanager
def _progress(plan: DPPlan, start: int, progress: bool) -> Any:
    from tqdm import tqdm

    shown = progress and rank_and_world()[0] == 0  # one bar, not one per rank
    bar = tqdm(total=plan.steps, initial=start, unit="step", desc="DP-SGD", disable=not shown)
    try:
        yield bar
    finally:
        bar.close()


def _finish(
    result: TrainResult, parts: Parts, plan: DPPlan, settings: TrainSettings
) -> TrainResult:
    """The mechanism of the steps taken, checked against what the live accountant saw."""
    history = parts.engine.accountant.history
    steps_accounted = sum(int(entry[2]) for entry in history)
    ran = {(float(sigma), float(q)) for sigma, q, _ in history}
    if steps_accounted != result.steps or ran - {(plan.noise_multiplier, plan.sampling_rate)}:
        raise PrivacyBudgetError(
            f"accountant holds {steps_accounted} steps of {len(ran)} mechanism(s); "
            f"the run took {result.steps} steps of the plan's one"
        )
    result.mechanism = plan.mechanism.after(result.steps)
    result.epsilons = result.mechanism.epsilons().checked(settings.accountant_tolerance)
    if result.epsilon > plan.target_epsilon:
        raise PrivacyBudgetError(
            f"spent epsilon {result.epsilon:.4f} exceeds the target {plan.target_epsilon}"
        )
    return result


def save_checkpoint(path: str | Path, result: TrainResult) -> None:
    """The trained model with its config (what evaluation and serving read)."""
    torch.save(
        {
            "config": result.model.cfg.to_dict(),
            "state_dict": {k: v.cpu() for k, v in result.model.state_dict().items()},
        },
        path,
    )


load_checkpoint = load_decoder  # what save_checkpoint wrote (serving loads it the same way)
