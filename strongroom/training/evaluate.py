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
    """(loss per token of each person [N], scored targets per person [N]) over `tokens`.

    `tokens` is [N, T] (a sequence a person) or [N, k, T]: a person's loss is then the mean
    over every scored token of all of their sequences (per token, not per sequence, so a person
    with more history is scored on all of it and k = 1 gives the same figure as before).
    Each batch is cut after its longest sequence (padding is not scored), which changes no loss.
    """
    model.eval()
    per_token = SequenceLoss(model.cfg.pad_id, reduction="none")
    losses, counts = [], []
    for start in range(0, len(tokens), batch_size):
        chunk = torch.from_numpy(tokens[start : start + batch_size].astype(np.int64))
        people = len(chunk)
        batch = chunk.reshape(-1, chunk.shape[-1])  # [b k, T], person-major
        length = int((batch != model.cfg.pad_id).sum(1).max())
        inputs, targets = shift(batch[:, : max(length, 2)])  # [b k, t-1]
        logits = model(inputs)  # [b k, t-1, V]
        by_person = logits.reshape(people, -1, logits.shape[-1])  # [b, k (t-1), V]
        targets = targets.reshape(people, -1)  # [b, k (t-1)]
        losses.append(per_token(by_person, targets).numpy())  # [b]
        counts.append((targets != model.cfg.pad_id).sum(1).numpy())  # [b]
    if not losses:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.concatenate(losses).astype(np.float64), np.concatenate(counts)


def held_out_loss(
    model: GemmaDecoder, tokens: np.ndarray, *, batch_size: int = 32
) -> dict[str, float]:
    """Mean per-person loss (each person's loss per token over all of their sequences),
    token-weighted loss and perplexity over `tokens` ([N, T] or [N, k, T])."""
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
