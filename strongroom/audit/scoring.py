"""What the audit asks of a model: losses of secrets and greedy completions (byte tokens).

Kept apart from the measures (pure functions over scores) so that those can be tested against
hand-computed values; these are tested on a trained tiny model (tests/audit/test_run.py).
"""

from __future__ import annotations

import numpy as np
import torch

from strongroom.corpus.tokenizer import BOS
from strongroom.model.gemma import GemmaDecoder


@torch.no_grad()
def continuation_losses(model: GemmaDecoder, prefix: np.ndarray, options: np.ndarray) -> np.ndarray:
    """Summed loss (nats) of each row of `options` ([K, L] tokens) following `prefix` ([P])."""
    model.eval()
    k = len(options)
    batch = np.concatenate([np.broadcast_to(prefix, (k, len(prefix))), options], axis=1)
    ids = torch.from_numpy(batch.astype(np.int64))  # [K, P+L]
    logits = model(ids[:, :-1])[:, len(prefix) - 1 :]  # [K, L, V]: the L predictions
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    chosen = log_probs.gather(-1, ids[:, len(prefix) :, None])[..., 0]  # [K, L]
    return (-chosen.sum(1)).double().numpy()


@torch.no_grad()
def greedy_completions(model: GemmaDecoder, prefixes: np.ndarray, length: int) -> np.ndarray:
    """The `length` most likely next tokens after each row of `prefixes` ([B, P]) -> [B, length]."""
    model.eval()
    ids = torch.from_numpy(prefixes.astype(np.int64))  # [B, P]
    start = ids.shape[1]
    for _ in range(length):
        logits = model(ids[:, -model.cfg.max_seq_len :])[:, -1].float()  # [B, V]
        logits[:, [model.cfg.pad_id, BOS]] = -float("inf")  # never PAD or a new example
        ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], dim=1)  # [B, t+1]
    return ids[:, start:].numpy()
