"""One DP-SGD step: a Poisson batch in physical batches, clipped per person, noised once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from strongroom.model.gemma import shift
from strongroom.privacy.plan import DPPlan
from strongroom.training.book_keeping import BookKeepingModule
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
    bf16 = settings.mixed_precision == "bf16"  # book-keeping: clipping stays float32
    physical = settings.physical_batch_size or min(max(plan.units, 1), MAX_PHYSICAL_BATCH)
    with BatchMemoryManager(
        data_loader=parts.loader, max_physical_batch_size=physical, optimizer=parts.optimizer
    ) as batches:
        for (batch,) in batches:
            parts.optimizer.zero_grad(set_to_none=True)
            if len(batch) == 0:
                zero_grads(parts.optimizer)
            else:
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    batch = batch.to(device, non_blocking=True)  # [b, T] or [b, k, T]
                    add_clipped(parts, batch, plan.max_grad_norm, stats)
            parts.optimizer.step()  # skipped until the last physical batch: then noise, update
    return summed_over_ranks(stats, device)


def add_clipped(parts: Parts, batch: torch.Tensor, max_grad_norm: float, stats: StepStats) -> None:
    """The clipped per-person gradient sum of one physical batch into `.grad`.

    `batch` is [b, T] (a sequence a person) or [b, k, T] (up to k a person, unused ones all PAD):
    the b persons were drawn by one Poisson draw each, and all their sequences came with them.
    A person's loss is the sum of their sequences' losses (each the mean over its tokens; an
    all-PAD sequence adds 0), and its gradient is clipped to C as one: the sensitivity stays C
    per person and the accountant's (q, sigma, steps) are unchanged.

    Norms, clip factors and the clipped sum are float32 whatever autocast the caller has on:
    under bfloat16 they round at 2^-8, and ||S(D + x) - S(D)|| reached 1.53 C at 512 people, so
    the noise would no longer cover one person. Book-keeping clipping keeps the caller's autocast
    for the forward and backward and upcasts what it keeps (training/book_keeping.py); Opacus'
    ghost clipping cannot, so under it the whole pass runs without autocast.
    tests/training/test_step.py and test_book_keeping.py measure the sensitivity under CPU
    bfloat16 autocast.
    """
    people = len(batch)
    inputs, targets = shift(batch.reshape(-1, batch.shape[-1]))  # [b k, T-1] each, person-major
    with _full_float32_matmuls():
        if isinstance(parts.model, BookKeepingModule):
            loss = _book_keeping_pass(parts, inputs, targets, max_grad_norm, people)
        elif len(inputs) == people:
            loss = _ghost_pass(parts, inputs, targets)
        else:  # Opacus would clip each sequence alone: a person would move the sum by k C
            raise ValueError("several sequences a person need clipping book_keeping")
    norms = parts.model.per_sample_gradient_norms  # [b]
    stats.clipped += int((norms > max_grad_norm).sum())
    stats.loss_sum += float(loss) * len(batch)
    stats.people += len(batch)
    stats.tokens += int((targets != parts.pad_id).sum())


def _book_keeping_pass(
    parts: Parts, inputs: torch.Tensor, targets: torch.Tensor, max_grad_norm: float, people: int
) -> torch.Tensor:
    """One forward and one backward, weights' own gradients off, each person's sequences clipped
    together; the mean over persons of a person's mean sequence loss (what is logged)."""
    with parts.model.one_pass() as model:
        logits = model(inputs)  # [b k, T-1, V]
        per_sequence = parts.criterion(logits.float(), targets).view(people, -1)  # [b, k]
        losses = per_sequence.sum(1)  # [b]: a person's loss, clipped as one
        model.clipped_backward(losses, max_grad_norm)
    used = (targets != parts.pad_id).view(people, per_sequence.shape[1], -1).any(2)  # [b, k]
    return (losses.detach() / used.sum(1).clamp(min=1)).mean()


def _ghost_pass(parts: Parts, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Opacus' two backwards (norms, then the reweighted loss), without autocast; the mean loss."""
    with torch.autocast(inputs.device.type, enabled=False):
        logits = parts.model(inputs)  # [b, T-1, V]
        loss = parts.criterion(logits, targets)
        loss.backward()  # ghost clipping: norms, then the clipped per-person sum
    return loss.detach()


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
