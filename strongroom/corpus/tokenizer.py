"""Byte-level tokenizer: fixed, data-independent vocabulary, so it leaks nothing about the records."""

from __future__ import annotations

import numpy as np

PAD, BOS, EOS = 256, 257, 258
VOCAB_SIZE = 259  # 256 byte values + PAD, BOS, EOS


def encode(text: str, max_len: int) -> tuple[np.ndarray, bool]:
    """BOS + UTF-8 bytes + EOS, cut to max_len tokens; returns (ids, truncated)."""
    ids = [BOS, *text.encode("utf-8"), EOS]
    truncated = len(ids) > max_len
    return np.asarray(ids[:max_len], dtype=np.int16), truncated


def decode(ids: np.ndarray | list[int]) -> str:
    """Bytes back to text; special tokens are skipped and a cut multi-byte character replaced."""
    data = bytes(int(i) for i in ids if 0 <= int(i) < 256)
    return data.decode("utf-8", errors="replace")


def pad_batch(sequences: list[np.ndarray], length: int) -> np.ndarray:
    """[N, length] int16, right-padded with PAD."""
    out = np.full((len(sequences), length), PAD, dtype=np.int16)
    for i, seq in enumerate(sequences):
        out[i, : len(seq)] = seq
    return out
