"""Training state on disk: everything a killed run needs to go on as if it had never stopped.

A state file holds the weights, the optimizer, the accountant's history, the sampler's and the
noise's random generators, the step, and the per-step log. It is written to a temporary file and
renamed over the old one, so a SIGKILL at any moment leaves either the previous state or the new
one, never half of one.

A state is keyed on what it trains (`StateKey`): the fingerprint of the training tensor, the model
configuration, the hyper-parameters (the DP plan, learning rate, seed, ...) and the world size.
Resuming under any other key is refused, naming which parts differ: the accountant history would no
longer describe what ran, and a finished state of another run would hand back that run's weights
under this run's data. A finished run removes its state (`remove_state`) for the same reason.

The file lives on a shared volume, so it is read with `torch.load(weights_only=True)`: only
tensors and plain data (dicts, lists, tuples, numbers, strings, None) come back, and a pickle that
would run code is refused rather than run. Everything saved is therefore reduced to plain data first.

Tested by tests/training/test_checkpoint.py (keys, refusals, weights_only) and
tests/training/test_resume.py (SIGKILL and resume).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from strongroom.errors import PrivacyBudgetError

if TYPE_CHECKING:  # torch is imported where states are saved and loaded: registration
    import torch  # checks the corpus fingerprint here without paying for torch's import

STATE_FILE = "train_state.pt"
FORMAT = 2  # 1: keyed on the plan only, loaded with weights_only=False
_FIELDS = (
    "format",
    "key",
    "step",
    "model",
    "optimizer",
    "accountant_history",
    "sampler_rng",
    "noise_rng",
    "log",
)
_START_OVER = "remove the file to start over"


@dataclass
class StepLog:
    """Per-step records, saved with the state so that a resumed run reports every step."""

    losses: list[float] = field(default_factory=list)  # mean per-person loss (NaN: empty batch)
    batch_sizes: list[int] = field(default_factory=list)  # Poisson (logical) batch size
    clip_fractions: list[float] = field(default_factory=list)  # people whose gradient was clipped
    epsilons: list[tuple[int, float]] = field(default_factory=list)  # (step, epsilon spent)

    def to_dict(self) -> dict[str, Any]:
        """Plain Python numbers only, so that the dict loads under weights_only."""
        return {
            "losses": [float(x) for x in self.losses],
            "batch_sizes": [int(x) for x in self.batch_sizes],
            "clip_fractions": [float(x) for x in self.clip_fractions],
            "epsilons": [[int(s), float(e)] for s, e in self.epsilons],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepLog:
        return cls(
            losses=list(data["losses"]),
            batch_sizes=list(data["batch_sizes"]),
            clip_fractions=list(data["clip_fractions"]),
            epsilons=[(int(s), float(e)) for s, e in data["epsilons"]],
        )


@dataclass(frozen=True)
class StateKey:
    """What a state trains; a state resumes only under an equal key."""

    corpus_sha256: str  # fingerprint_tokens(training tensor)
    model_config: dict[str, Any]
    hyper_parameters: dict[
        str, Any
    ]  # the DP plan, learning rate, seed, ...: whatever shapes a step
    world_size: int

    def to_dict(self) -> dict[str, Any]:
        """Plain data (numpy scalars become Python numbers, tuples lists); TypeError otherwise."""
        return {
            "corpus_sha256": str(self.corpus_sha256),
            "model_config": _plain(self.model_config, "model_config"),
            "hyper_parameters": _plain(self.hyper_parameters, "hyper_parameters"),
            "world_size": int(self.world_size),
        }


def fingerprint_tokens(tokens: np.ndarray) -> str:
    """sha256 over the tensor's dtype, shape and bytes (C order): equal only for equal data."""
    array = np.asarray(tokens)
    if array.dtype.hasobject:
        raise TypeError("cannot fingerprint an object array: its bytes are pointers, not data")
    digest = hashlib.sha256()
    digest.update(f"{array.dtype.str}|{array.shape}\n".encode())
    digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def fingerprint_state(state: dict[str, torch.Tensor]) -> str:
    """sha256 over a state dict's names and tensors: equal only for the same weights."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().float().numpy()
        digest.update(f"{name}={fingerprint_tokens(tensor)}\n".encode())
    return digest.hexdigest()


def _plain(value: Any, where: str) -> Any:
    """`value` as data that torch.load(weights_only=True) reads back and that compares reliably."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: key {k!r} is not a string")
            out[k] = _plain(v, f"{where}.{k}")
        return out
    raise TypeError(
        f"{where}: {type(value).__name__} is not plain data (numbers, str, lists, dicts)"
    )


def _generator_state(generator: torch.Generator | None) -> torch.Tensor | None:
    return None if generator is None else generator.get_state().cpu()


def save_state(
    path: str | Path,
    *,
    key: StateKey,
    step: int,
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
        "format": FORMAT,
        "key": key.to_dict(),
        "step": int(step),
        "model": model.state_dict(),
        "optimizer": optimizer.original_optimizer.state_dict(),
        "accountant_history": [(float(s), float(q), int(n)) for s, q, n in accountant.history],
        "sampler_rng": _generator_state(sampler_generator),
        "noise_rng": _generator_state(noise_generator),
        "log": log.to_dict(),
    }
    import torch

    partial = _partial(path)
    with open(partial, "wb") as handle:
        torch.save(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    _fsync_dir(path.parent)
    return path


def load_state(path: str | Path, key: StateKey) -> dict[str, Any] | None:
    """The saved state, or None when there is none; PrivacyBudgetError when it is not a valid
    state or was saved under another key."""
    import torch

    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as exc:  # corrupt, truncated, or objects other than tensors and plain data
        raise PrivacyBudgetError(
            f"{path}: not a readable training state ({_kind(exc)}): the file is corrupt "
            "or holds objects other than tensors and plain data, which are not loaded since that "
            f"would run code from the file; {_START_OVER}."
        ) from exc
    problem = _shape_problem(state)
    if problem:
        raise PrivacyBudgetError(f"{path}: not a valid training state ({problem}); {_START_OVER}.")
    differences = _key_differences(state["key"], key.to_dict())
    if differences:
        raise PrivacyBudgetError(
            f"{path}: saved for {', '.join(differences)}; resuming would train on what this run "
            f"did not ask for and make the accountant history wrong; {_START_OVER}."
        )
    return state


def remove_state(path: str | Path) -> bool:
    """Delete the state file and a leftover `.partial` (a finished run); whether any was there."""
    path = Path(path)
    removed = False
    for candidate in (path, _partial(path)):
        try:
            candidate.unlink()
            removed = True
        except FileNotFoundError:
            pass
    if removed:
        _fsync_dir(path.parent)
    return removed


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


def _kind(exc: Exception) -> str:
    """The exception's name, with its module when the name alone says little (struct.error)."""
    kind = type(exc)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def _fsync_dir(directory: Path) -> None:
    """Make a rename or unlink durable; not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _shape_problem(state: Any) -> str:
    """What makes `state` not a state this module wrote; "" when nothing."""
    if not isinstance(state, dict):
        return f"a {type(state).__name__}, not a dict"
    if "plan" in state and "key" not in state:
        return "written by an older strongroom, keyed on the plan only"
    missing = [name for name in _FIELDS if name not in state]
    if missing:
        return f"missing {', '.join(missing)}"
    if state["format"] != FORMAT:
        return f"format {state['format']!r}, expected {FORMAT}"
    saved_key = state["key"]
    key_fields = ("corpus_sha256", "model_config", "hyper_parameters", "world_size")
    if not isinstance(saved_key, dict) or any(name not in saved_key for name in key_fields):
        return "its key is incomplete"
    if not isinstance(saved_key["model_config"], dict) or not isinstance(
        saved_key["hyper_parameters"], dict
    ):
        return "its key's model_config or hyper_parameters is not a dict"
    if not isinstance(state["step"], int) or state["step"] < 0:
        return "step is not a count"
    if not isinstance(state["model"], dict) or not isinstance(state["optimizer"], dict):
        return "model or optimizer is not a state dict"
    history = state["accountant_history"]
    if not isinstance(history, list) or any(
        not isinstance(entry, list | tuple) or len(entry) != 3 for entry in history
    ):
        return "accountant history is not a list of (noise, rate, steps)"
    import torch

    for name in ("sampler_rng", "noise_rng"):
        if state[name] is not None and not isinstance(state[name], torch.Tensor):
            return f"{name} is not a generator state"
    log_fields = ("losses", "batch_sizes", "clip_fractions", "epsilons")
    if not isinstance(state["log"], dict) or any(name not in state["log"] for name in log_fields):
        return "the step log is incomplete"
    return ""


def _key_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Which parts of the key differ, in words; dict parts by key name only, never by value."""
    differences = []
    if saved["corpus_sha256"] != current["corpus_sha256"]:
        differences.append("other data (corpus fingerprint)")
    names = _differing_names(saved["model_config"], current["model_config"])
    if names:
        differences.append(f"another model configuration ({', '.join(names)})")
    names = _differing_names(saved["hyper_parameters"], current["hyper_parameters"])
    if names:
        differences.append(f"other hyper-parameters ({', '.join(names)})")
    if saved["world_size"] != current["world_size"]:
        differences.append(
            f"another world size (saved with {saved['world_size']}, this run has "
            f"{current['world_size']})"
        )
    return differences


def _differing_names(saved: dict[str, Any], current: dict[str, Any], prefix: str = "") -> list[str]:
    """Sorted names whose values differ or that only one side has; nested dicts as a.b."""
    names = []
    for name in sorted(set(saved) | set(current), key=str):
        if name not in saved or name not in current:
            names.append(f"{prefix}{name}")
        elif isinstance(saved[name], dict) and isinstance(current[name], dict):
            names += _differing_names(saved[name], current[name], f"{prefix}{name}.")
        elif not _same(saved[name], current[name]):
            names.append(f"{prefix}{name}")
    return names


def _same(a: Any, b: Any) -> bool:
    """Equal as plain data; NaN equals NaN (a planned value, not a measurement)."""
    if a == b:
        return True
    if isinstance(a, float) and isinstance(b, float):
        return math.isnan(a) and math.isnan(b)
    try:
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    except (TypeError, ValueError):
        return False
