"""Sample text from a decoder: temperature, nucleus (top-p), a seed for reproducible samples."""

from __future__ import annotations

import torch

from strongroom.corpus.tokenizer import BOS, EOS, decode
from strongroom.model.gemma import GemmaDecoder


@torch.no_grad()
def sample(
    model: GemmaDecoder,
    prompt: str,
    *,
    max_new_tokens: int = 200,
    temperature: float = 0.8,
    top_p: float = 1.0,
    seed: int | None = None,
) -> str:
    """A continuation of `prompt` (byte-level), stopping at EOS or `max_new_tokens`."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    ids = torch.tensor([[BOS, *prompt.encode("utf-8")]], dtype=torch.long)  # [1, t]
    out: list[int] = []
    for _ in range(max_new_tokens):
        window = ids[:, -model.cfg.max_seq_len :]  # [1, <=T]
        logits = model(window)[0, -1] / max(temperature, 1e-5)  # [V]
        logits[model.cfg.pad_id] = -float("inf")  # never emit PAD
        logits[BOS] = -float("inf")
        probs = _nucleus(torch.softmax(logits, -1), top_p)  # [V]
        next_id = int(torch.multinomial(probs, 1, generator=generator))
        if next_id == EOS:
            break
        out.append(next_id)
        ids = torch.cat([ids, torch.tensor([[next_id]])], dim=1)  # [1, t+1]
    return decode(out)


def _nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the most likely tokens whose mass reaches `top_p` (at least one), renormalised."""
    if top_p >= 1.0:
        return probs
    ordered, order = torch.sort(probs, descending=True)  # [V], [V]
    before = torch.cumsum(ordered, 0) - ordered  # [V] mass of the tokens ranked above
    kept = torch.zeros_like(probs).scatter(0, order, (before < top_p).to(probs.dtype))  # [V]
    return probs * kept / (probs * kept).sum()
