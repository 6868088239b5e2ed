"""Poisson sampling over people, one logical batch per pass of the data loader.

Opacus' samplers yield a whole epoch of batches per pass, and its distributed sampler drops a
rank's empty batches, so that rank takes fewer optimizer steps than the others (its collectives
then no longer match) and the step count depends on the data. Here every pass draws exactly one
batch, possibly empty, from the sampler's own generator (or the secure one), so each step is one
pass on every rank and resuming mid-epoch needs nothing but the generator's state.
"""

from __future__ import annotations

from typing import Any

import torch

from strongroom.privacy.secure_rng import SecureRandom


def one_batch_per_pass(loader: Any, secure_rng: SecureRandom | None = None) -> None:
    """Switch a DPDataLoader's (distributed or not) Poisson sampler to one batch per pass."""
    sampler = loader.batch_sampler
    base = type(sampler)
    sampler.__class__ = type(f"OneStep{base.__name__}", (base,), {"__iter__": _one_batch})
    sampler.secure_rng = secure_rng


def _one_batch(self: Any) -> Any:
    """Each of this rank's people joins with probability q, independently."""
    if self.secure_rng is not None:
        mask = torch.from_numpy(self.secure_rng.uniform(self.num_samples) < self.sample_rate)
    else:
        mask = torch.rand(self.num_samples, generator=self.generator) < self.sample_rate  # [n]
    picked = mask.nonzero(as_tuple=False).reshape(-1)  # positions in this rank's share
    if hasattr(self, "num_replicas"):  # distributed: rank r holds people r, r + W, r + 2W, ...
        picked = torch.arange(self.rank, self.total_size, self.num_replicas)[picked]
    yield picked.tolist()
