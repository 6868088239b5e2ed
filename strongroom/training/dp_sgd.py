"""DP-SGD with Opacus: Poisson sampling over people, per-person ghost clipping, Gaussian noise.

Each row of the training tensor is one person, so Opacus' per-sample clipping is per-person
clipping and its Poisson sampler samples people. One logical (Poisson) batch is one optimizer
step; Opacus' BatchMemoryManager cuts it into physical batches that fit in memory and adds the
noise once, on the last. The run never goes past the plan's steps, so never past the budget, and
the epsilon recorded is the accountants' value for the steps actually taken.

Resuming: with `state_dir` set, the full training state (weights, optimizer, accountant history,
sampler and noise generators, step) is saved every `checkpoint_every` steps and picked up by the
next run of the same plan, which then goes on exactly where the saved one was.
"""

from __future__ import annotations

import logging
import math
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from strongroom.errors import PrivacyBudgetError
from strongroom.model.config import GemmaConfig
from strongroom.model.gemma import GemmaDecoder
from strongroom.privacy.accounting import cross_checked
from strongroom.privacy.plan import DPPlan
from strongroom.training.checkpoint import STATE_FILE, StepLog, load_state, restore, save_state
from strongroom.training.parts import (
    Parts,
    build_parts,
    decoder_of,
    rank_and_world,
    resolve_device,
)
from strongroom.training.settings import TrainSettings
from strongroom.training.step import StepStats, one_step

__all__ = ["TrainResult", "TrainSettings", "load_checkpoint", "save_checkpoint", "train_dp"]

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    model: GemmaDecoder
    steps: int  # steps taken, resumed ones included
    epsilon: float  # PRV accountant, for the steps taken
    epsilon_pld: float  # dp_accounting PLD, same history
    log: StepLog = field(default_factory=StepLog)
    seconds: float = 0.0  # this run's training time (not the resumed part)
    tokens: int = 0  # non-padding target tokens trained on in this run
    resumed_from: int = 0  # the step the run started from (0: a fresh run)
    stopped_early: bool = False  # max_steps or SIGTERM before the plan's last step

    @property
    def losses(self) -> list[float]:
        return self.log.losses

    @property
    def batch_sizes(self) -> list[int]:
        return self.log.batch_sizes

    def privacy(self, plan: DPPlan) -> dict[str, Any]:
        return {
            **plan.to_dict(),
            "steps_taken": self.steps,
            "epsilon": self.epsilon,
            "epsilon_pld": self.epsilon_pld,
            "stopped_early": self.stopped_early,
        }


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
    tokens: np.ndarray, model_cfg: GemmaConfig, plan: DPPlan, settings: TrainSettings
) -> TrainResult:
    """Train on `tokens` ([units, T] int, one row per person) following `plan` exactly."""
    if len(tokens) != plan.units:
        raise PrivacyBudgetError(f"plan is for {plan.units} units, data has {len(tokens)}")
    torch.manual_seed(settings.seed)
    model = GemmaDecoder(model_cfg).to(resolve_device(settings.device))
    parts = build_parts(model, tokens, plan, settings)
    state_file = _state_file(settings)
    step, steps_log = _resume(state_file, parts, plan)
    last = min(plan.steps, settings.max_steps or plan.steps)
    result = TrainResult(model=model, steps=step, epsilon=0.0, epsilon_pld=0.0, log=steps_log)
    result.resumed_from = step
    started = time.monotonic()
    parts.model.train()
    with _progress(plan, step, settings) as bar, _StopSignal().installed() as stop:
        while result.steps < last and not stop.received:
            stats = one_step(parts, plan, settings)
            result.steps += 1
            result.tokens += stats.tokens
            _record(result, stats, parts, plan, settings, last)
            bar.set_postfix_str(_postfix(result, started), refresh=False)
            bar.update(1)  # redraws, postfix included
            if state_file and (result.steps % settings.checkpoint_every == 0 or stop.received):
                _save(state_file, result, parts, plan)
            if settings.on_step is not None:
                settings.on_step(result.steps)
    if state_file and result.steps > result.resumed_from:
        _save(state_file, result, parts, plan)
    result.seconds = time.monotonic() - started
    result.stopped_early = result.steps < plan.steps
    return _finish(result, parts, plan, settings)


def _state_file(settings: TrainSettings) -> Path | None:
    """One state file per rank: each rank's sampler generator is its own."""
    if not settings.state_dir:
        return None
    rank, world = rank_and_world()
    name = STATE_FILE if world == 1 else STATE_FILE.replace(".pt", f".rank{rank}.pt")
    return Path(settings.state_dir) / name


def _resume(state_file: Path | None, parts: Parts, plan: DPPlan) -> tuple[int, StepLog]:
    state = load_state(state_file, plan.to_dict()) if state_file else None
    if state is None:
        return 0, StepLog()
    step, steps_log = restore(
        state,
        model=decoder_of(parts),
        optimizer=parts.optimizer,
        accountant=parts.engine.accountant,
        sampler_generator=parts.sampler_rng,
        noise_generator=parts.noise_rng,
    )
    log.info("resuming at step %d of %d from %s", step, plan.steps, state_file)
    return step, steps_log


def _save(state_file: Path, result: TrainResult, parts: Parts, plan: DPPlan) -> None:
    save_state(
        state_file,
        step=result.steps,
        plan=plan.to_dict(),
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


def _postfix(result: TrainResult, started: float) -> str:
    epsilon = result.log.epsilons[-1][1] if result.log.epsilons else 0.0
    rate = result.tokens / max(time.monotonic() - started, 1e-9)
    return f"loss {result.log.losses[-1]:.3f} eps {epsilon:.3f} {rate:,.0f} tok/s"


@contextmanager
def _progress(plan: DPPlan, start: int, settings: TrainSettings) -> Any:
    from tqdm import tqdm

    shown = settings.progress and rank_and_world()[0] == 0  # one bar, not one per rank
    bar = tqdm(total=plan.steps, initial=start, unit="step", desc="DP-SGD", disable=not shown)
    try:
        yield bar
    finally:
        bar.close()


def _finish(
    result: TrainResult, parts: Parts, plan: DPPlan, settings: TrainSettings
) -> TrainResult:
    history = parts.engine.accountant.history
    steps_accounted = sum(int(entry[2]) for entry in history)
    if steps_accounted != result.steps:
        raise PrivacyBudgetError(
            f"accountant holds {steps_accounted} steps, run took {result.steps}"
        )
    result.epsilon, result.epsilon_pld = cross_checked(
        history, plan.delta, settings.accountant_tolerance
    )
    if result.epsilon > plan.target_epsilon:
        raise PrivacyBudgetError(
            f"spent epsilon {result.epsilon:.4f} exceeds the target {plan.target_epsilon}"
        )
    return result


def save_checkpoint(path: str, result: TrainResult, plan: DPPlan) -> None:
    """The trained model with its config and privacy record (what evaluation and MLflow read)."""
    torch.save(
        {
            "config": result.model.cfg.to_dict(),
            "state_dict": {k: v.cpu() for k, v in result.model.state_dict().items()},
            "privacy": result.privacy(plan),
        },
        path,
    )


def load_checkpoint(path: str) -> tuple[GemmaDecoder, dict[str, Any]]:
    """Model (eval mode) and the checkpoint's privacy record."""
    data = torch.load(path, map_location="cpu", weights_only=True)
    model = GemmaDecoder(GemmaConfig.from_dict(data["config"]))
    model.load_state_dict(data["state_dict"])
    model.eval()
    return model, data["privacy"]
