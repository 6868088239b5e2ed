"""The non-private reference: the DP plan trained without privacy, to say what privacy cost.

Same corpus (the same training people), model config, initialisation (the DP run's starting
weights from public text, or its seeded random ones: parts.initial_model), Adam at
the same learning rate, the DP run's number of steps and its expected batch as the (fixed) batch;
no clipping, no noise, no accountant. Each step's loss is the mean per-person loss of its batch
(a person's loss the sum of their sequences' losses, as DP-SGD's),
which is what DP-SGD's noisy sum divided by the expected batch estimates when nothing is clipped
and sigma is 0. The batches are drawn without replacement from a seeded generator: the reference
is never released, so its randomness needs no CSPRNG, and a fixed seed makes it repeatable.

Its weights are never saved: the stage keeps only its held-out loss (stages.reference_stage), so
nothing non-private can be registered or served by mistake. benchmarks/audit.py uses it too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from strongroom.model.config import GemmaConfig
from strongroom.model.gemma import GemmaDecoder, SequenceLoss, shift
from strongroom.training.parts import initial_model, resolve_device
from strongroom.training.settings import MAX_PHYSICAL_BATCH, TrainSettings

BATCH_SEED = 1  # the reference's batches (public, fixed: the run is never released)


@dataclass
class ReferenceResult:
    model: GemmaDecoder
    steps: int
    batch_sizes: list[int] = field(default_factory=list)  # people per step
    seconds: float = 0.0


def reference_batches(units: int, batch_size: int, steps: int) -> Iterator[np.ndarray]:
    """Each step's row indices: `batch_size` people without replacement, per step."""
    rng = np.random.default_rng(BATCH_SEED)
    size = min(batch_size, units)
    for _ in range(steps):
        yield np.sort(rng.choice(units, size=size, replace=False))


def train_reference(
    tokens: np.ndarray,
    model_cfg: GemmaConfig,
    *,
    steps: int,
    batch_size: int,
    settings: TrainSettings,
    progress: bool = True,
    initial: dict[str, torch.Tensor] | None = None,
    label: str = "reference",
) -> ReferenceResult:
    """Plain (non-DP) training on `tokens` ([units, T] or [units, k, T], one row per person) from
    train_dp's initialisation: `initial` (the DP run's starting weights) or the same seeded random
    one. `strongroom pretrain` trains its public model with it too (strongroom/pretrain.py)."""
    from tqdm import tqdm

    device = resolve_device(settings.device)
    model = initial_model(model_cfg, settings, initial)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    criterion = SequenceLoss(model_cfg.pad_id, reduction="sum")
    physical = settings.physical_batch_size or MAX_PHYSICAL_BATCH
    bf16 = settings.mixed_precision == "bf16"
    result = ReferenceResult(model=model, steps=0)
    started = time.monotonic()
    model.train()
    batches = reference_batches(len(tokens), batch_size, steps)
    # no loss on the bar: the reference's per-step loss is an exact, non-DP statistic
    for rows in tqdm(batches, total=steps, unit="step", desc=label, disable=not progress):
        optimizer.zero_grad(set_to_none=True)
        for start in range(0, len(rows), physical):
            chunk = torch.from_numpy(tokens[rows[start : start + physical]].astype(np.int64))
            sequences = chunk.reshape(-1, chunk.shape[-1])  # [b k, T]: a person's k come along
            inputs, targets = shift(sequences.to(device))  # [b k, T-1] each
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = criterion(model(inputs), targets) / len(rows)  # the batch's mean
            loss.backward()
        optimizer.step()
        result.steps += 1
        result.batch_sizes.append(len(rows))
    result.seconds = time.monotonic() - started
    model.cpu().eval()
    return result
