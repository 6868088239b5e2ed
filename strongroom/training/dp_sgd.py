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
import os
import signal
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from strongroom.errors import PrivacyBudgetError
from strongroom.model.config import GemmaConfig
from strongroom.model.gemma import GemmaDecoder, SequenceLoss, shift
from strongroom.privacy import norm_sampler  # noqa: F401  (registers the mixed norm sampler)
from strongroom.privacy.accounting import DEFAULT_TOLERANCE, cross_checked
from strongroom.privacy.plan import DPPlan
from strongroom.privacy.secure_rng import use_secure_noise
from strongroom.training.checkpoint import STATE_FILE, StepLog, load_state, restore, save_state
from strongroom.training.sampling import one_batch_per_pass

log = logging.getLogger(__name__)


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


@dataclass
class _Parts:
    """The live objects of one run."""

    engine: Any  # opacus PrivacyEngine (its accountant)
    model: Any  # GradSampleModule around the decoder
    optimizer: Any  # DPOptimizerFastGradientClipping
    criterion: Any  # ghost-clipping loss wrapper
    loader: Any  # DPDataLoader: one Poisson batch per iteration
    sampler_rng: torch.Generator | None
    noise_rng: torch.Generator | None
    pad_id: int  # padding token: not counted as a trained token


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) under torchrun; (0, 1) in a single process."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and rank_and_world()[1] > 1:  # one GPU per process under torchrun
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device(name)


def decoder_of(parts: _Parts) -> GemmaDecoder:
    """The plain decoder inside Opacus' (and DDP's) wrappers."""
    inner = parts.model._module
    return inner.module if isinstance(inner, torch.nn.parallel.DistributedDataParallel) else inner


def _private_parts(
    model: GemmaDecoder, tokens: np.ndarray, plan: DPPlan, settings: TrainSettings
) -> _Parts:
    from opacus import PrivacyEngine

    device = next(model.parameters()).device
    secure = settings.secure_mode
    rank, world = rank_and_world()
    # Each rank samples its own share of the people: independent draws per rank.
    sampler_seed = settings.seed + 1 + 7919 * rank
    sampler_rng = None if secure else torch.Generator().manual_seed(sampler_seed)
    noise_rng = None if secure else torch.Generator(device).manual_seed(settings.seed + 2)
    data = TensorDataset(torch.from_numpy(tokens.astype(np.int64)))
    loader = DataLoader(
        data,
        batch_size=plan.expected_batch_size,
        generator=sampler_rng,
        pin_memory=device.type == "cuda",
    )
    fused = device.type == "cuda"  # one kernel for the whole Adam update
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate, fused=fused)
    # Opacus' secure mode needs torchcsprng (no build for current torch): ours is in secure_rng.
    engine = PrivacyEngine(accountant=plan.accountant, secure_mode=False)
    if world > 1:  # Opacus' DDP: per-rank clipping, noise added once (rank 0), gradients summed
        from opacus.distributed import DifferentiallyPrivateDistributedDataParallel as DPDDP

        wrapped: torch.nn.Module = DPDDP(model)
    else:
        wrapped = model
    private_model, private_opt, criterion, private_loader = engine.make_private(
        module=wrapped,
        optimizer=optimizer,
        criterion=SequenceLoss(model.cfg.pad_id),
        data_loader=loader,
        noise_multiplier=plan.noise_multiplier,
        max_grad_norm=plan.max_grad_norm,
        poisson_sampling=True,
        noise_generator=noise_rng,
        grad_sample_mode="ghost",
    )
    if abs(private_loader.sample_rate - plan.sampling_rate) > 1e-15:
        raise PrivacyBudgetError(
            f"loader samples at {private_loader.sample_rate}, plan says {plan.sampling_rate}"
        )
    # Opacus derives the accountant's rate as 1 / int(1 / q), which for some sizes (q = 1/93)
    # is not the rate the loader samples at: account at the plan's (the loader's) exact rate.
    private_opt.attach_step_hook(
        engine.accountant.get_optimizer_hook_fn(sample_rate=plan.sampling_rate)
    )
    one_batch_per_pass(private_loader, use_secure_noise(private_opt) if secure else None)
    return _Parts(
        engine,
        private_model,
        private_opt,
        criterion,
        private_loader,
        sampler_rng,
        noise_rng,
        model.cfg.pad_id,
    )


def _zero_grads(optimizer: Any) -> None:
    """An empty Poisson batch still takes its step: noise only, and the accountant counts it.

    Skipping it would make the step count depend on the data, which the accounting ignores.
    """
    for param in optimizer.params:
        param.grad = torch.zeros_like(param)


@dataclass
class _StepStats:
    people: int = 0
    loss_sum: float = 0.0
    clipped: int = 0
    tokens: int = 0


def _one_step(parts: _Parts, plan: DPPlan, settings: TrainSettings) -> _StepStats:
    """One logical batch: physical batches accumulate clipped gradients, the last adds noise."""
    from opacus.utils.batch_memory_manager import BatchMemoryManager

    stats = _StepStats()
    device = next(parts.model.parameters()).device
    physical = settings.physical_batch_size or max(plan.units, 1)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device.type == "cuda" and settings.bf16
        else nullcontext()
    )
    with BatchMemoryManager(
        data_loader=parts.loader, max_physical_batch_size=physical, optimizer=parts.optimizer
    ) as batches:
        for (batch,) in batches:
            parts.optimizer.zero_grad(set_to_none=True)
            if len(batch) == 0:
                _zero_grads(parts.optimizer)
            else:
                batch = batch.to(device, non_blocking=True)  # [b, T]
                inputs, targets = shift(batch)  # [b, T-1] each
                with autocast:
                    logits = parts.model(inputs)  # [b, T-1, V]
                loss = parts.criterion(logits.float(), targets)
                loss.backward()  # ghost clipping: norms, then the clipped per-person sum
                norms = parts.model.per_sample_gradient_norms  # [b]
                stats.clipped += int((norms > plan.max_grad_norm).sum())
                stats.loss_sum += float(loss.detach()) * len(batch)
                stats.people += len(batch)
                stats.tokens += int((targets != parts.pad_id).sum())
            parts.optimizer.step()  # skipped until the last physical batch: then noise, update
    return _summed_over_ranks(stats, device)


def _summed_over_ranks(stats: _StepStats, device: torch.device) -> _StepStats:
    """Under torchrun each rank saw its share of the batch: the step's figures are the sums."""
    if rank_and_world()[1] == 1:
        return stats
    numbers = [stats.people, stats.loss_sum, stats.clipped, stats.tokens]
    total = torch.tensor(numbers, dtype=torch.float64, device=device)  # [4]
    torch.distributed.all_reduce(total)
    people, loss_sum, clipped, tokens = total.tolist()
    return _StepStats(int(people), loss_sum, int(clipped), int(tokens))


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
    model = GemmaDecoder(model_cfg).to(_device(settings.device))
    parts = _private_parts(model, tokens, plan, settings)
    state_file = _state_file(settings)
    step, steps_log = _resume(state_file, parts, plan)
    last = min(plan.steps, settings.max_steps or plan.steps)
    result = TrainResult(model=model, steps=step, epsilon=0.0, epsilon_pld=0.0, log=steps_log)
    result.resumed_from = step
    started = time.monotonic()
    parts.model.train()
    with _progress(plan, step, settings) as bar, _StopSignal().installed() as stop:
        while result.steps < last and not stop.received:
            stats = _one_step(parts, plan, settings)
            result.steps += 1
            result.tokens += stats.tokens
            _record(result, stats, parts, plan, settings, last)
            bar.update(1)
            bar.set_postfix_str(_postfix(result, started), refresh=False)
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


def _resume(state_file: Path | None, parts: _Parts, plan: DPPlan) -> tuple[int, StepLog]:
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


def _save(state_file: Path, result: TrainResult, parts: _Parts, plan: DPPlan) -> None:
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
    stats: _StepStats,
    parts: _Parts,
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
    result: TrainResult, parts: _Parts, plan: DPPlan, settings: TrainSettings
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
