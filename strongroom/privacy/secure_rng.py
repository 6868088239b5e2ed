"""Cryptographically secure randomness for DP-SGD's sampling and noise: the default (no seed).

A DP guarantee assumes the attacker cannot predict the noise. torch's generators (Philox,
Mersenne Twister) are predictable from their state; Opacus' own secure mode needs torchcsprng,
which has no build for current torch. Here the randomness is an AES-256-CTR keystream keyed from
the operating system's CSPRNG (`os.urandom`), through the `cryptography` package:

- Poisson sampling: one 53-bit uniform per person per step, a person joins when u < q.
- Gaussian noise: Box-Muller on 53-bit uniforms in float64, then cast to the gradient's dtype.

Cost: 8 bytes of keystream and a float64 transform per parameter per step (about 0.1 s per 10M
parameters on one CPU core): every run pays it, since a seeded run is no DP release. The draws are
not reproducible and not restored on resume (the privacy accounting does not depend on them).
Caveat: the noise is a float64 Gaussian rounded to float32, not a discrete Gaussian; the
floating-point attacks on textbook samplers (Mironov 2012) are mitigated, not excluded.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch

_BLOCK = 1 << 24  # bytes of keystream per call: bounded memory for large models


class SecureRandom:
    """Uniform and Gaussian draws from AES-256-CTR with a key from os.urandom."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        cipher = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(os.urandom(16)))
        self._stream = cipher.encryptor()

    def uniform(self, n: int) -> np.ndarray:
        """`n` float64 draws in (0, 1), 53 random bits each."""
        out = np.empty(n, dtype=np.float64)
        for start in range(0, n, _BLOCK // 8):
            count = min(_BLOCK // 8, n - start)
            bits = np.frombuffer(self._stream.update(bytes(8 * count)), dtype=np.uint64)
            out[start : start + count] = ((bits >> np.uint64(11)) + 0.5) / 2.0**53
        return out

    def normal(self, shape: torch.Size, *, std: float, like: torch.Tensor) -> torch.Tensor:
        """N(0, std^2) draws of `shape`, on `like`'s device and dtype."""
        n = math.prod(shape)
        pairs = (n + 1) // 2
        u = self.uniform(2 * pairs)
        radius = np.sqrt(-2.0 * np.log(u[:pairs]))  # [pairs]
        angle = 2.0 * np.pi * u[pairs:]  # [pairs]
        z = np.concatenate([radius * np.cos(angle), radius * np.sin(angle)])[:n]  # [n]
        return torch.from_numpy(z * std).reshape(shape).to(device=like.device, dtype=like.dtype)


def use_secure_noise(optimizer: Any) -> SecureRandom:
    """Route an Opacus ghost-clipping optimizer's noise through a SecureRandom (returned, for
    the sampler to share)."""
    from opacus.optimizers.optimizer import _check_processed_flag, _mark_as_processed

    rng = SecureRandom()
    noisy_rank = getattr(optimizer, "rank", 0) == 0  # under DDP, Opacus adds noise on rank 0

    def add_noise() -> None:  # Opacus' DPOptimizerFastGradientClipping.add_noise, secure draws
        for p in optimizer.params:
            if not noisy_rank:
                p.grad = p.summed_grad.view_as(p)
                continue
            _check_processed_flag(p.summed_grad)
            std = optimizer.noise_multiplier * optimizer.max_grad_norm
            noise = rng.normal(p.summed_grad.shape, std=std, like=p.summed_grad)
            p.grad = (p.summed_grad + noise).view_as(p)
            _mark_as_processed(p.summed_grad)

    optimizer.add_noise = add_noise
    return rng
