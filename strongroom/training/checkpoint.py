"""Training state on disk: everything a killed run needs to go on as if it had never stopped.

A state file holds the weights, the optimizer, the accountant's history, the sampler's and the
noise's random generators, the step, and the per-step log. It is written to a temporary file and
renamed over the old one, so a SIGKILL at any moment leaves either the previous state or the new
one, never half of one. The plan travels with it: resuming under another plan is refused, since
the accountant history would no longer describe what ran.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from strongroom.errors import PrivacyBudgetError

STATE_FILE = "train_state.pt"


@dataclass
class StepLog:
    """Per-step records, saved with the state so that a resumed run reports every step."""

    losses: list[float] = field(default_factory=list)  # mean per-person loss (NaN: empty batch)
    batch_sizes: list[int] = field(default_factory=list)  # Poisson (logical) batch size
    clip_fractions: list[float] = field(default_factory=list)  # people whose gradient was clipped
    epsilons: list[tuple[int, float]] = field(default_factory=list)  # (step, epsilon spent)

    def to_dict(self) -> dict[str, Any]:
        return {
            "losses": self.losses,
            "batch_sizes": self.batch_sizes,
            "clip_fractions": self.clip_fractions,
            "epsilons": [list(e) for e in self.epsilons],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepLog:
        return cls(
            losses=list(data["losses"]),
            batch_sizes=list(data["batch_sizes"]),
            clip_fractions=list(data["clip_fractions"]),
            epsilons=[(int(s), float(e)) for s, e in data["epsilons"]],
        )


def _generator_state(generator: torch.Generator | None) -> torch.Tensor | None:
    return None if generator is None else generator.get_state()


def save_state(
    path: str | Path,
    *,
    step: int,
    plan: dict[str, Any],
    model: torch.nn.Module,
    optimizer: Any,
    accountant: Any,
    sampler_generator: torch.Generator | None,
    noise_generator: torch.Generator | None,
    log: StepLog,
) -> Path:
    """Write the state atomically (temporary file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "step": step,
        "plan": plan,
        "model": model.state_dict(),
        "optimizer": optimizer.original_optimizer.state_dict(),
        "accountant_history": list(accountant.history),
        "sampler_rng": _generator_state(sampler_generator),
        "noise_rng": _generator_state(noise_generator),
        "log": log.to_dict(),
    }
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as handle:
        torch.save(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    return path


def load_state(path: str | Path, plan: dict[str, Any]) -> dict[str, Any] | None:
    """The saved state, or None when there is none; an error if it belongs to another plan."""
    path = Path(path)
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state["plan"] != plan:
        changed = sorted(k for k in plan if state["plan"].get(k) != plan[k])
        raise PrivacyBudgetError(
            f"{path}: saved for another plan (differs in {changed}); resuming would make the "
            "accountant history wrong. Remove the file to start over."
        )
    return state


def restore(
    state: dict[str, Any],
    *,
    model: torch.nn.Module,
    optimizer: Any,
    accountant: Any,
    sampler_generator: torch.Generator | None,
    noise_generator: torch.Generator | None,
) -> tuple[int, StepLog]:
    """Put a saved state back into live objects; returns (step, log)."""
    model.load_state_dict(state["model"])
    optimizer.original_optimizer.load_state_dict(state["optimizer"])
    accountant.history = [tuple(entry) for entry in state["accountant_history"]]
    if sampler_generator is not None and state["sampler_rng"] is not None:
        sampler_generator.set_state(state["sampler_rng"])
    if noise_generator is not None and state["noise_rng"] is not None:
        noise_generator.set_state(state["noise_rng"])
    return int(state["step"]), StepLog.from_dict(state["log"])
