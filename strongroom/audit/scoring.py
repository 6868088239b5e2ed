"""What the audit asks of a model: losses of secrets and greedy completions (byte tokens).

Kept apart from the measures (pure functions over scores) so that those can be tested against
hand-computed values; these are tested on trained tiny models (tests/audit/test_scoring.py,
tests/audit/test_run.py).
"""

from __future__ import annotations

import numpy as np
import torch

from strongroom.corpus.tokenizer import BOS
from strongroom.model.cached import KVCache, extend
from strongroom.model.gemma import GemmaDecoder


@torch.no_grad()
def secret_scores(
    model: GemmaDecoder, prefixes: list[np.ndarray], options: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each prefix i ([P_i] tokens, P_i >= 1) and option j (options[i, j], [L] tokens): the
    summed loss (nats) of the option after the prefix, [n, K], and whether greedy decoding after
    the prefix produces option j token for token, [n, K]. Greedy decoding reproduces a sequence
    exactly when each of its tokens is the most likely one after the sequence's own earlier
    tokens, so one teacher-forced pass decides it. Each prefix runs once, into a key/value
    cache its K options continue from (a canary's record before its secret is most of the
    sequence: scoring K options from scratch would run it K times)."""
    model.eval()
    n, k, length = options.shape
    losses, greedy = np.zeros((n, k)), np.zeros((n, k), dtype=bool)
    for i, prefix in enumerate(prefixes):
        cache = KVCache()
        after_prefix = extend(model, torch.from_numpy(prefix.astype(np.int64))[None], cache)
        cache.repeat(k)
        ids = torch.from_numpy(options[i].astype(np.int64))  # [K, L]
        logits = after_prefix.expand(k, -1)[:, None]  # [K, 1, V]: predicts each first token
        if length > 1:
            rest = extend(model, ids[:, :-1], cache, every_position=True)  # [K, L-1, V]
            logits = torch.cat([logits, rest], dim=1)  # [K, L, V]
        log_probs = torch.log_softmax(logits.float(), dim=-1)  # [K, L, V]
        chosen = log_probs.gather(-1, ids[..., None])[..., 0]  # [K, L]
        losses[i] = (-chosen.sum(1)).double().numpy()
        greedy[i] = (log_probs.argmax(-1) == ids).all(1).numpy()
    return losses, greedy


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
