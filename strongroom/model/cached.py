"""Incremental decoding with a key/value cache: the logits of `GemmaDecoder.forward`, one new
token at a time, without recomputing the prefix.

Sampling thousands of records on a CPU with the plain forward costs O(T^2) per sequence (every
step re-runs the whole prefix); with the cache a step costs one position. The math is the model's
own modules (projections, norms, RoPE tables, soft-cap) applied in the same order, so the two
agree to float rounding: tests/synthesis/test_cached.py compares them on every position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from strongroom.model.gemma import Attention, GemmaDecoder, apply_rope


@dataclass
class KVCache:
    """Keys and values of every block for the positions seen so far (same count in every row)."""

    keys: list[torch.Tensor] = field(default_factory=list)  # per block [B, Hkv, t, hd]
    values: list[torch.Tensor] = field(default_factory=list)
    length: int = 0  # positions cached

    def select(self, rows: torch.Tensor) -> None:
        """Keep only `rows` of the batch (finished sequences leave, the cache shrinks)."""
        self.keys = [k[rows] for k in self.keys]
        self.values = [v[rows] for v in self.values]

    def repeat(self, times: int) -> None:
        """Each row `times` times over (rows r*times .. r*times + times-1): one prefix, computed
        once, continued in several ways."""
        self.keys = [k.repeat_interleave(times, dim=0) for k in self.keys]
        self.values = [v.repeat_interleave(times, dim=0) for v in self.values]


def _attend(
    attn: Attention, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: KVCache, i: int
) -> torch.Tensor:
    B, n, _ = x.shape
    c = attn.cfg
    q = attn.q_proj(x).view(B, n, c.n_heads, c.head_dim).transpose(1, 2)  # [B, H, n, hd]
    k = attn.k_proj(x).view(B, n, c.n_kv_heads, c.head_dim).transpose(1, 2)  # [B, Hkv, n, hd]
    v = attn.v_proj(x).view(B, n, c.n_kv_heads, c.head_dim).transpose(1, 2)  # [B, Hkv, n, hd]
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    if i < len(cache.keys):
        k = torch.cat([cache.keys[i], k], dim=2)  # [B, Hkv, t + n, hd]
        v = torch.cat([cache.values[i], v], dim=2)
        cache.keys[i], cache.values[i] = k, v
    else:
        cache.keys.append(k)
        cache.values.append(v)
    # New positions see every cached one and, among themselves, only earlier ones: with a cache
    # of length t before them that is a causal mask shifted by t (is_causal alone only fits t=0).
    t = k.shape[2] - n
    mask = torch.ones(n, t + n, dtype=torch.bool).tril(diagonal=t)  # [n, t + n]
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)  # [B, H, n, hd]
    return attn.o_proj(y.transpose(1, 2).reshape(B, n, c.n_heads * c.head_dim))  # [B, n, D]


@torch.no_grad()
def extend(
    model: GemmaDecoder, ids: torch.Tensor, cache: KVCache, *, every_position: bool = False
) -> torch.Tensor:
    """Feed `ids` [B, n] after the cached positions; the logits of the last one, [B, V] (of
    each new one, [B, n, V], with `every_position`)."""
    n = ids.shape[1]
    start = cache.length
    if start + n > model.cfg.max_seq_len:
        raise ValueError(f"{start + n} positions exceed the model's {model.cfg.max_seq_len}")
    cos = model.rope_cos[start : start + n]  # [n, hd/2]
    sin = model.rope_sin[start : start + n]
    x = model.embed(ids) * math.sqrt(model.cfg.d_model)  # [B, n, D]
    for i, block in enumerate(model.blocks):
        x = x + _attend(block.attn, block.attn_norm(x), cos, sin, cache, i)  # [B, n, D]
        x = x + block.mlp(block.mlp_norm(x))  # [B, n, D]
    cache.length = start + n
    logits = model.lm_head(model.final_norm(x if every_position else x[:, -1]))  # [B, (n,) V]
    cap = model.cfg.final_logit_softcap
    return cap * torch.tanh(logits / cap) if cap is not None else logits
