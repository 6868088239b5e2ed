"""Model configuration: one dataclass, every field commented, `None` turns a feature off."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from strongroom.corpus.tokenizer import PAD, VOCAB_SIZE


@dataclass(frozen=True)
class GemmaConfig:
    vocab_size: int = VOCAB_SIZE  # byte-level: 256 bytes + PAD, BOS, EOS
    max_seq_len: int = 512  # tokens per example (one person's records)
    n_layers: int = 2  # decoder blocks
    d_model: int = 64  # residual stream width
    n_heads: int = 4  # query heads
    n_kv_heads: int = 1  # key/value heads: 1 = multi-query attention (as VaultGemma)
    head_dim: int = 16  # width of each attention head
    ffn_hidden: int = 192  # GeGLU hidden width
    rope_theta: float = 10_000.0  # RoPE base frequency
    rms_eps: float = 1e-6  # RMSNorm epsilon
    final_logit_softcap: float | None = 30.0  # tanh soft-capping of the logits; None = off
    pad_id: int = PAD  # padding token: masked out of the loss

    def __post_init__(self) -> None:
        if self.n_heads % self.n_kv_heads:
            raise ValueError("n_heads must be a multiple of n_kv_heads")
        if self.head_dim % 2:
            raise ValueError("head_dim must be even for RoPE")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GemmaConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


PRESETS: dict[str, GemmaConfig] = {
    # tests: a few thousand parameters, trains in seconds on one CPU core
    "tiny": GemmaConfig(
        max_seq_len=256, n_layers=1, d_model=32, n_heads=2, head_dim=16, ffn_hidden=64
    ),
    # the local demo: ~0.1M parameters, a few minutes on a laptop CPU
    "demo": GemmaConfig(),
    # ~9M parameters at seq 1024: the DP overhead benchmark and single-GPU trials
    "small": GemmaConfig(
        max_seq_len=1024, n_layers=6, d_model=384, n_heads=6, head_dim=64, ffn_hidden=1024
    ),
    # ~100M parameters: a useful model on one GPU node
    "base": GemmaConfig(
        max_seq_len=1024, n_layers=12, d_model=768, n_heads=12, head_dim=64, ffn_hidden=3072
    ),
    # VaultGemma 1B's body (Gemma 3 1B: 26 layers, width 1152, 4 query heads of 256, one KV head,
    # GeGLU 6912): ~0.7B parameters, its non-embedding size; our byte vocabulary replaces the
    # 262k-token embedding (0.3B) that brings VaultGemma to 1B.
    "vaultgemma-1b": GemmaConfig(
        max_seq_len=1024, n_layers=26, d_model=1152, n_heads=4, head_dim=256, ffn_hidden=6912
    ),
}


def preset(name: str) -> GemmaConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; choose from {sorted(PRESETS)}")
    return PRESETS[name]
