"""One DP-SGD step: a Poisson batch in physical batches, clipped per person, noised once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from strongroom.model.gemma import shift
from strongroom.privacy.plan import DPPlan
from strongroom.training.parts import Parts, rank_and_world
from strongroom.training.settings import MAX_PHYSICAL_BATCH, TrainSettings


def zero_grads(optimizer: Any) -> None:
    """An empty Poisson batch still takes its step: noise only, and the accountant counts it.

    Skipping it would make the step count depend on the data, which the accounting ignores.
    """
    for param in optimizer.params:
        param.grad = torch.zeros_like(param)


@dataclass
class StepStats:
    people: int = 0
    loss_sum: float = 0.0
    clipped: int = 0
    tokens: int = 0


def one_step(parts: Parts, plan: DPPlan, settings: TrainSettings) -> StepStats:
    """One logical batch: physical batches accumulate clipped gradients, the last adds noise."""
    from opacus.utils.batch_memory_manager import BatchMemoryManager

    stats = StepStats()
    device = next(parts.model.parameters()).device
    physical = settings.physical_batch_size or min(max(plan.units, 1), MAX_PHYSICAL_BATCH)
    with BatchMemoryManager(
        data_loader=parts.loader, max_physical_batch_size=physical, optimizer=parts.optimizer
    ) as batches:
        for (batch,) in batches:
            parts.optimizer.zero_grad(set_to_none=True)
            if len(batch) == 0:
                zero_grads(parts.optimizer)
            else:
                add_clipped(parts, batch.to(device, non_blocking=True), plan.max_grad_norm, stats)
            parts.optimizer.step()  # skipped until the last physical batch: then noise, update
    return summed_over_ranks(stats, device)


def add_clipped(parts: Parts, batch: torch.Tensor, max_grad_norm: float, stats: StepStats) -> None:
    """The clipped per-person gradient sum of one physical batch ([b, T] tokens) into `.grad`.

    Float32 throughout, whatever autocast the caller has on: under bfloat16 the per-person norms
    and the clipped sum round at 2^-8, and ||S(D + x) - S(D)|| reached 1.53 C at 512 people, so
    the noise would no longer cover one person. A faster exact path (per-person gradients in
    float32 from bfloat16 activations, one-pass clipping) is future work; until then no autocast.
    tests/training/test_step.py measures the sensitivity under CPU bfloat16 autocast.
    """
    with torch.autocast(batch.device.type, enabled=False), _full_float32_matmuls():
        inputs, targets = shift(batch)  # [b, T-1] each
        logits = parts.model(inputs)  # [b, T-1, V]
        loss = parts.criterion(logits, targets)
        loss.backward()  # ghost clipping: norms, then the clipped per-person sum
    norms = parts.model.per_sample_gradient_norms  # [b]
    stats.clipped += int((norms > max_grad_norm).sum())
    stats.loss_sum += float(loss.detach()) * len(batch)
    stats.people += len(batch)
    stats.tokens += int((targets != parts.pad_id).sum())


@contextmanager
def _full_float32_matmuls() -> Iterator[None]:
    """No TF32 (10-bit mantissa) in the clipping's matrix products, whatever the process set."""
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


def summed_over_ranks(stats: StepStats, device: torch.device) -> StepStats:
    """Under torchrun each rank saw its share of the batch: the step's figures are the sums."""
    if rank_and_world()[1] == 1:
        return stats
    numbers = [stats.people, stats.loss_sum, stats.clipped, stats.tokens]
    total = torch.tensor(numbers, dtype=torch.float64, device=device)  # [4]
    torch.distributed.all_reduce(total)
    people, loss_sum, clipped, tokens = total.tolist()
    return StepStats(int(people), loss_sum, int(clipped), int(tokens))
