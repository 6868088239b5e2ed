"""Candidate plans within a compute budget, each with its noise and predicted loss.

A candidate is a model preset, an expected Poisson batch B (powers of 2 up to the number of
people) and a step count S whose FLOPs fit the budget. The sampling rate is the one the run
will use (`poisson_rate`), so steps and epochs of a written plan give back the same S. Sigma
comes from the RDP accountant (rdp.py), once per (rate, steps) pair: it does not depend on the
model, so five presets cost one calibration. Adam's rate comes from the law's rate rule: the
law predicts each plan at the rate that suits its steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from strongroom.model.config import PRESETS
from strongroom.planning import rdp
from strongroom.planning.compute import flops_per_token, parameter_count
from strongroom.planning.law import LossLaw
from strongroom.privacy.plan import poisson_rate

MIN_BATCH = 8  # below that a Poisson batch is often empty or one person: noise swamps it
BATCH_SIZES = 12  # the largest 12 powers of 2 up to the people: 1/4096 of them and up
MIN_STEPS = 10  # fewer steps train nothing worth registering (and the law never saw them)
MAX_EPOCHS = 16.0  # passes over the people: beyond, memorisation grows and the law never saw it
STEP_GRID = 2**0.5  # steps tried: MIN_STEPS x sqrt(2)^i, and the most the budget allows


@dataclass(frozen=True)
class Candidate:
    preset: str
    params: int
    batch_size: int  # expected Poisson batch
    sampling_rate: float
    steps: int
    epochs: float  # steps x sampling rate: what the config's privacy.epochs says
    noise_multiplier: float  # sigma from the RDP accountant (never below the run's)
    flops: float  # training FLOPs without the DP overhead
    predicted_loss: float
    extrapolated: bool  # model size outside the law's fitted range
    learning_rate: float | None = None  # Adam's, from the law's rate rule; None: the default

    @property
    def noise_batch_ratio(self) -> float:
        """sigma / B: McKenna et al.'s axis; the noise std on the mean gradient, over C."""
        return self.noise_multiplier / self.batch_size

    @property
    def noise_to_signal(self) -> float:
        """Norm of a step's noise (sigma C sqrt(P) / B) against the clipped mean's bound C."""
        return self.noise_multiplier * math.sqrt(self.params) / self.batch_size

    def tokens(self, seq_len: int) -> float:
        return float(self.steps) * self.batch_size * seq_len

    def tokens_per_parameter(self, seq_len: int) -> float:
        return self.tokens(seq_len) / self.params


def _step_counts(most: int) -> list[int]:
    counts = set()
    steps = float(MIN_STEPS)
    while steps < most:
        counts.add(round(steps))
        steps *= STEP_GRID
    counts.add(most)
    return sorted(c for c in counts if MIN_STEPS <= c <= most)


def candidates(
    *,
    epsilon: float,
    delta: float,
    units: int,
    budget: float,
    seq_len: int,
    law: LossLaw,
    presets: tuple[str, ...] | None = None,
) -> list[Candidate]:
    """Every candidate within the budget, with sigma and predicted loss; none if nothing fits."""
    names = presets or tuple(PRESETS)
    top = int(math.log2(units))
    batches = [2**i for i in range(max(int(math.log2(MIN_BATCH)), top - BATCH_SIZES + 1), top + 1)]
    rows = []  # (preset, batch, rate, steps, flops)
    for name in names:
        per_sample = seq_len * flops_per_token(PRESETS[name], seq_len)
        for batch in batches:
            rate = poisson_rate(units, batch)
            most = min(int(budget // (batch * per_sample)), int(MAX_EPOCHS / rate))
            for steps in _step_counts(most):
                rows.append((name, batch, rate, steps, steps * batch * per_sample))
    if not rows:
        return []
    pairs = sorted({(rate, steps) for _, _, rate, steps, _ in rows})
    q = np.array([p[0] for p in pairs])
    sigma = rdp.calibrate_sigma(epsilon, delta, q, np.array([p[1] for p in pairs]))
    sigma_of = dict(zip(pairs, sigma.tolist(), strict=True))
    params = {name: parameter_count(PRESETS[name]) for name in names}
    p = np.array([params[r[0]] for r in rows], dtype=np.float64)
    s = np.array([r[3] for r in rows], dtype=np.float64)
    b = np.array([r[1] for r in rows], dtype=np.float64)
    noise = np.array([sigma_of[(r[2], r[3])] for r in rows])
    with np.errstate(over="ignore", divide="ignore"):  # an infinite sigma: infinite loss, dropped
        loss = law.predict(p, s, b, noise)
    return [
        Candidate(
            preset=name,
            params=params[name],
            batch_size=batch,
            sampling_rate=rate,
            steps=steps,
            epochs=steps * rate,
            noise_multiplier=sig,
            flops=flops,
            predicted_loss=float(pred),
            extrapolated=not law.in_range(params[name]),
            learning_rate=None if law.learning_rate is None else law.learning_rate.rate(steps),
        )
        for (name, batch, rate, steps, flops), sig, pred in zip(
            rows, noise.tolist(), loss, strict=True
        )
        if math.isfinite(sig)
    ]
