"""One DP-SGD step: a Poisson batch in physical batches, clipped per person, noised once."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch

from strongroom.model.gemma import shift
from strongroom.privacy.plan import DPPlan
from strongroom.training.parts import Parts, rank_and_world
from strongroom.training.settings import TrainSettings


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
                zero_grads(parts.optimizer)
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
    return summed_over_ranks(stats, device)


def summed_over_ranks(stats: StepStats, device: torch.device) -> StepStats:
    """Under torchrun each rank saw its share of the batch: the step's figures are the sums."""
    if rank_and_world()[1] == 1:
        return stats
    numbers = [stats.people, stats.loss_sum, stats.clipped, stats.tokens]
    total = torch.tensor(numbers, dtype=torch.float64, device=device)  # [4]
    torch.distributed.all_reduce(total)
    people, loss_sum, clipped, tokens = total.tolist()
    return StepStats(int(people), loss_sum, int(clipped), int(tokens))
