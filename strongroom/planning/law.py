"""Predicted held-out loss of a DP plan: a law fitted on our own runs, stored with the project.

In the spirit of McKenna et al. 2025 ("Scaling Laws for Differentially Private Language
Models"): loss is a function of model size, steps and the noise-batch ratio sigma / B. The form
is built from first principles so that few runs can fit it:

    L = E + A * P^-alpha + D * S_eff^-beta
    S_eff = S / (1 + b_noise / B + k * sigma^2 * P / B^2)

Chinchilla's size and data terms (Hoffmann et al. 2022), with steps S discounted the way noisy
gradients discount them (McCandlish et al. 2018: a step with noise variance V relative to the
squared gradient is worth 1 / (1 + V) of a clean step): sampling noise shrinks as 1 / B
(b_noise, the gradient noise scale), DP noise is sigma * C * sqrt(P) / B in norm against a
clipped mean of norm at most C, so its relative variance is k * sigma^2 * P / B^2 (k absorbs how
far below C the clipped mean's norm is). alpha is held at Chinchilla's 0.34: our runs span two
model sizes, which cannot pin a size exponent; the other six are fitted (`fit`).

A sweep may run each shape (model, batch, steps, epsilon) at several Adam rates: the law is
fitted on each shape's best, so it predicts a plan run at a good rate, and a rate rule fitted on
the same best runs (rates.py) says which rate to plan. A law fitted at one rate penalises
whichever plans that rate suits least (at 0.002, the few-step ones).

The law lives in law.json beside this file with its provenance (runs, corpus, fitted range,
residual); `strongroom plan --fit RUNS.jsonl` refits it from benchmarks/plan_sweep.py's output.
Tests: tests/planning/test_law.py.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from strongroom.errors import StrongroomError
from strongroom.planning.rates import RateRule, fit_rate_rule

LAW_FILE = Path(__file__).with_name("law.json")
ALPHA = 0.34  # Chinchilla's model-size exponent, held fixed (see the module docstring)
FITTED = ("E", "A", "D", "beta", "b_noise", "k")
MIN_RUNS = len(FITTED) + 2  # fewer runs than that cannot both fit and check the law


@dataclass(frozen=True)
class LossLaw:
    E: float  # irreducible loss (nats per byte)
    A: float  # model-size term
    D: float  # steps term
    beta: float  # steps exponent
    b_noise: float  # gradient noise scale of sampling (people)
    k: float  # DP noise variance per unit of sigma^2 P / B^2, relative to the signal
    alpha: float = ALPHA
    learning_rate: RateRule | None = None  # Adam's rate to plan; None: TrainSettings' default
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    def effective_steps(self, params: Any, steps: Any, batch: Any, sigma: Any) -> np.ndarray:
        params, steps, batch, sigma = (np.asarray(x, dtype=np.float64) for x in
                                       (params, steps, batch, sigma))  # fmt: skip
        noise = self.b_noise / batch + self.k * sigma**2 * params / batch**2
        return steps / (1.0 + noise)

    def predict(self, params: Any, steps: Any, batch: Any, sigma: Any) -> np.ndarray:
        """Held-out loss (nats per byte on the corpus it was fitted on), element-wise."""
        s_eff = self.effective_steps(params, steps, batch, sigma)
        size = self.A * np.asarray(params, dtype=np.float64) ** -self.alpha
        return self.E + size + self.D * s_eff**-self.beta

    def in_range(self, params: float) -> bool:
        """Whether a model size lies within the sizes the law was fitted on (x2 either way)."""
        low, high = self.provenance.get("params_range", (0, math.inf))
        return low / 2 <= params <= high * 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: str | Path = LAW_FILE) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path


def load_law(path: str | Path = LAW_FILE) -> LossLaw:
    data = json.loads(Path(path).read_text())
    rule = data.pop("learning_rate", None)
    return LossLaw(**data, learning_rate=None if rule is None else RateRule(**rule))


def read_runs(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Runs from JSON lines files (benchmarks/plan_sweep.py): one run per non-empty line."""
    runs = []
    need = ("params", "steps", "batch_size", "noise_multiplier", "loss")
    for path in paths:
        for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
            if not line.strip():
                continue
            run = json.loads(line)
            missing = [key for key in need if key not in run]
            if missing:
                raise StrongroomError(f"{path}:{number}: missing {', '.join(missing)}")
            runs.append(run)
    return runs


def best_of_rates(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each shape's lowest loss over the rates (and repeats) it ran at, in first-seen order.
    A shape is a model size, batch, step count, sigma and sequence length on one corpus."""
    best: dict[tuple, dict[str, Any]] = {}
    for run in runs:
        key = (float(run["params"]), float(run["batch_size"]), float(run["steps"]),
               round(float(run["noise_multiplier"]), 4), run.get("seq_len"),
               run.get("corpus"))  # fmt: skip
        if key not in best or float(run["loss"]) < float(best[key]["loss"]):
            best[key] = run
    return list(best.values())


def fit(runs: Sequence[dict[str, Any]], *, sources: Sequence[str] = ()) -> LossLaw:
    """Least squares on each shape's best held-out loss, coefficients kept positive (fitted as
    logs); with the rate rule through those best runs when the sweep tried several rates."""
    from scipy.optimize import least_squares  # fitting only: planning never imports scipy

    # Only DP runs: without clipping and noise the optimisation is another regime (our demo's
    # non-private loss is half the DP one), which no plan with epsilon <= 1000 reaches.
    every = len(runs)
    dp_runs = [run for run in runs if float(run["noise_multiplier"]) > 0]
    rates = sorted({float(run["learning_rate"]) for run in dp_runs if "learning_rate" in run})
    runs = best_of_rates(dp_runs)
    if len(runs) < MIN_RUNS:
        raise StrongroomError(
            f"fitting needs DP runs of at least {MIN_RUNS} shapes, got {len(runs)} "
            f"(from {len(dp_runs)} DP runs)"
        )
    columns = ("params", "steps", "batch_size", "noise_multiplier")
    x = np.array([[float(run[c]) for c in columns] for run in runs]).T
    y = np.array([float(run["loss"]) for run in runs])

    def law_of(theta: np.ndarray) -> LossLaw:
        return LossLaw(*np.exp(theta).tolist())

    def residuals(theta: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # far-off trial coefficients overflow; least squares
            return law_of(theta).predict(*x) - y  # steps back from an infinite residual

    # Several starts: from one, the fit can settle where the sampling-noise term explains
    # everything and sigma nothing (on the rate sweep: 0.23 RMS, epsilon 1 and 16 predicted alike).
    floor = max(y.min() * 0.5, 1e-3)
    starts = [np.log([floor, a, d, beta, 10.0, k]) for a, d, beta, k in
              itertools.product((1.0, 30.0), (3.0, 30.0), (0.3, 0.8), (1e-5, 1e-3, 1e-1))]  # fmt: skip
    fits = [least_squares(residuals, start, method="trf", max_nfev=5_000) for start in starts]
    result = min(fits, key=lambda r: float(np.sum(r.fun**2)))
    law = law_of(result.x)
    rule = fit_rate_rule(runs, rates) if all("learning_rate" in run for run in runs) else None
    rmse = float(np.sqrt(np.mean(residuals(result.x) ** 2)))
    provenance = {
        "runs": len(dp_runs),
        "shapes": len(runs),
        "learning_rates": rates,
        "non_private_left_out": every - len(dp_runs),
        "sources": [str(s) for s in sources],
        "corpora": sorted({str(run.get("corpus", "unknown")) for run in runs}),
        "presets": sorted({str(run.get("preset", "unknown")) for run in runs}),
        "params_range": [float(x[0].min()), float(x[0].max())],
        "steps_range": [float(x[1].min()), float(x[1].max())],
        "batch_range": [float(x[2].min()), float(x[2].max())],
        "rmse": round(rmse, 5),
        "fixed": {"alpha": ALPHA},
        "units": "held-out loss in nats per byte of the fitting corpus",
    }
    fitted = {name: getattr(law, name) for name in (*FITTED, "alpha")}
    return LossLaw(**fitted, learning_rate=rule, provenance=provenance)
