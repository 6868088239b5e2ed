"""What the audit asks of a model: losses of secrets and greedy completions (byte tokens).

Kept apart from the measures (pure functions over scores) so that those can be tested against
hand-computed values; these are tested on trained tiny models (tests/audit/test_scoring.py,
tests/audit/test_run.py).
"""

from __future__ import annotations

import numpy as np
import torch

from strongroom.corpus.tokenizer import BOS
from strongroom.model.gemma import GemmaDecoder

ROWS_PER_PASS = 256  # sequences per forward pass when scoring secrets


@torch.no_grad()
def secret_scores(
    model: GemmaDecoder, prefixes: list[np.ndarray], options: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each prefix i ([P_i] tokens) and option j (options[i, j], [L] tokens): the summed loss
    (nats) of the option after the prefix, [n, K], and whether greedy decoding after the prefix
    produces option j token for token, [n, K]. Greedy decoding reproduces a sequence exactly when
    each of its tokens is the most likely one after the sequence's own earlier tokens, so one
    teacher-forced pass decides it. Rows of different lengths share a pass, right-padded: a
    causal model's earlier positions do not see the padding."""
    model.eval()
    n, k, length = options.shape
    rows = [np.concatenate([prefixes[i], options[i, j]]) for i in range(n) for j in range(k)]
    starts = np.repeat([len(p) for p in prefixes], k)  # position of each option's first token
    losses, greedy = np.zeros(n * k), np.zeros(n * k, dtype=bool)
    for first in range(0, len(rows), ROWS_PER_PASS):
        chunk = rows[first : first + ROWS_PER_PASS]
        width = max(len(r) for r in chunk)
        batch = np.full((len(chunk), width), model.cfg.pad_id, dtype=np.int64)
        for r, row in enumerate(chunk):
            batch[r, : len(row)] = row
        ids = torch.from_numpy(batch)  # [b, W]
        log_probs = torch.log_softmax(model(ids[:, :-1]).float(), dim=-1)  # [b, W-1, V]
        where = (
            torch.from_numpy(starts[first : first + len(chunk)])[:, None] - 1 + torch.arange(length)
        )  # [b, L]: the predictions of the option's tokens
        picked = log_probs.gather(1, where[..., None].expand(-1, -1, log_probs.shape[-1]))
        targets = ids.gather(1, where + 1)  # [b, L]
        chosen = picked.gather(-1, targets[..., None])[..., 0]  # [b, L]
        losses[first : first + len(chunk)] = (-chosen.sum(1)).double().numpy()
        greedy[first : first + len(chunk)] = (picked.argmax(-1) == targets).all(1).numpy()
    return losses.reshape(n, k), greedy.reshape(n, k)


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
