"""Held-out evaluation: loss and perplexity on people never seen in training."""

from __future__ import annotations

import math

import numpy as np
import torch

from strongroom.model.gemma import GemmaDecoder, SequenceLoss, shift


@torch.no_grad()
def person_losses(
    model: GemmaDecoder, tokens: np.ndarray, *, batch_size: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """(mean loss per person [N], scored targets per person [N]) over `tokens` ([N, T]).

    Each batch is cut after its longest example (padding is not scored), which changes no loss.
    """
    model.eval()
    per_token = SequenceLoss(model.cfg.pad_id, reduction="none")
    losses, counts = [], []
    for start in range(0, len(tokens), batch_size):
        batch = torch.from_numpy(tokens[start : start + batch_size].astype(np.int64))  # [b, T]
        length = int((batch != model.cfg.pad_id).sum(1).max())
        inputs, targets = shift(batch[:, : max(length, 2)])  # [b, t-1]
        losses.append(per_token(model(inputs), targets).numpy())  # [b]
        counts.append((targets != model.cfg.pad_id).sum(1).numpy())  # [b]
    if not losses:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.concatenate(losses).astype(np.float64), np.concatenate(counts)


def held_out_loss(
    model: GemmaDecoder, tokens: np.ndarray, *, batch_size: int = 32
) -> dict[str, float]:
    """Mean per-person loss, token-weighted loss and perplexity over `tokens` ([N, T])."""
    if len(tokens) == 0:
        raise ValueError("no held-out units: raise eval_fraction or the number of units")
    losses, counts = person_losses(model, tokens, batch_size=batch_size)
    token_loss = float((losses * counts).sum()) / max(int(counts.sum()), 1)
    return {
        "loss": float(np.mean(losses)),
        "token_loss": token_loss,
        "perplexity": math.exp(token_loss),
        "units": float(len(tokens)),
    }
