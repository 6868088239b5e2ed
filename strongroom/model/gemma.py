"""Gemma-2-style decoder: RMSNorm pre-norm, RoPE, GeGLU, multi-query attention, untied embeddings.

Every trainable layer is an nn.Linear, nn.Embedding or nn.RMSNorm, which Opacus can clip per
sample; the output head is not tied to the embedding because ghost clipping cannot clip tied weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from strongroom.model.config import GemmaConfig


def rope_tables(cfg: GemmaConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin: [max_seq_len, head_dim // 2]."""
    inv_freq = cfg.rope_theta ** (-torch.arange(0, cfg.head_dim, 2).float() / cfg.head_dim)
    angles = torch.outer(torch.arange(cfg.max_seq_len).float(), inv_freq)  # [T, hd/2]
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs of channels; x: [B, H, T, hd], cos/sin: [T, hd/2]."""
    x1, x2 = x[..., ::2], x[..., 1::2]  # [B, H, T, hd/2] each
    rotated = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # [B, H, T, hd/2, 2]
    return rotated.flatten(-2)  # [B, H, T, hd]


class Attention(nn.Module):
    def __init__(self, cfg: GemmaConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.q_proj = nn.Linear(cfg.d_model, cfg.n_heads * cfg.head_dim, bias=False)
        self.k_proj = nn.Linear(cfg.d_model, cfg.n_kv_heads * cfg.head_dim, bias=False)
        self.v_proj = nn.Linear(cfg.d_model, cfg.n_kv_heads * cfg.head_dim, bias=False)
        self.o_proj = nn.Linear(cfg.n_heads * cfg.head_dim, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        c = self.cfg
        q = self.q_proj(x).view(B, T, c.n_heads, c.head_dim).transpose(1, 2)  # [B, H, T, hd]
        k = self.k_proj(x).view(B, T, c.n_kv_heads, c.head_dim).transpose(1, 2)  # [B, Hkv, T, hd]
        v = self.v_proj(x).view(B, T, c.n_kv_heads, c.head_dim).transpose(1, 2)  # [B, Hkv, T, hd]
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)  # [B,H,T,hd]
        return self.o_proj(y.transpose(1, 2).reshape(B, T, c.n_heads * c.head_dim))  # [B, T, D]


class GeGLU(nn.Module):
    def __init__(self, cfg: GemmaConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(cfg.d_model, cfg.ffn_hidden, bias=False)
        self.up_proj = nn.Linear(cfg.d_model, cfg.ffn_hidden, bias=False)
        self.down_proj = nn.Linear(cfg.ffn_hidden, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = F.gelu(self.gate_proj(x), approximate="tanh") * self.up_proj(x)  # [B, T, F]
        return self.down_proj(hidden)  # [B, T, D]


class Block(nn.Module):
    def __init__(self, cfg: GemmaConfig) -> None:
        super().__init__()
        self.attn_norm = nn.RMSNorm(cfg.d_model, eps=cfg.rms_eps)
        self.attn = Attention(cfg)
        self.mlp_norm = nn.RMSNorm(cfg.d_model, eps=cfg.rms_eps)
        self.mlp = GeGLU(cfg)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin)  # [B, T, D]
        return x + self.mlp(self.mlp_norm(x))  # [B, T, D]


class GemmaDecoder(nn.Module):
    def __init__(self, cfg: GemmaConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.final_norm = nn.RMSNorm(cfg.d_model, eps=cfg.rms_eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)  # untied
        cos, sin = rope_tables(cfg)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids: [B, T] -> logits [B, T, V]."""
        T = ids.shape[1]
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]  # [T, hd/2]
        x = self.embed(ids) * math.sqrt(self.cfg.d_model)  # [B, T, D], Gemma's embedding scale
        for block in self.blocks:
            x = block(x, cos, sin)  # [B, T, D]
        logits = self.lm_head(self.final_norm(x))  # [B, T, V]
        cap = self.cfg.final_logit_softcap
        if cap is not None:
            logits = cap * torch.tanh(logits / cap)  # [B, T, V]
        return logits

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class SequenceLoss(nn.Module):
    """Next-token cross-entropy averaged per sequence over its non-pad targets.

    With reduction="none" it returns one loss per sequence ([B]), which is what Opacus ghost
    clipping needs to clip per person rather than per token.
    """

    def __init__(self, pad_id: int, reduction: str = "mean") -> None:
        super().__init__()
        self.pad_id = pad_id
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        B, T, V = logits.shape
        token_loss = F.cross_entropy(
            logits.reshape(B * T, V), targets.reshape(B * T), reduction="none"
        ).view(B, T)  # [B, T]
        mask = (targets != self.pad_id).float()  # [B, T]
        per_sequence = (token_loss * mask).sum(1) / mask.sum(1).clamp(min=1)  # [B]
        if self.reduction == "none":
            return per_sequence
        if self.reduction == "sum":
            return per_sequence.sum()
        return per_sequence.mean()


def shift(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, T] tokens -> inputs [B, T-1], targets [B, T-1]."""
    # contiguous: Opacus' embedding norm sampler views the ids flat
    return batch[:, :-1].contiguous(), batch[:, 1:].contiguous()
