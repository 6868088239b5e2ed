"""Kill a training run with SIGKILL, resume it, and get exactly the uninterrupted run's result."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from strongroom.errors import PrivacyBudgetError
from strongroom.training.checkpoint import STATE_FILE, load_state

# A child process: trains the same tiny plan; KILL_AT kills it (SIGKILL, no clean-up) right after
# that step; it prints the result as JSON when it finishes.
CHILD = r"""
import json, os, signal, sys
import torch
torch.set_num_threads(1)
from strongroom.model.config import preset
from strongroom.privacy.plan import make_plan
from strongroom.training.dp_sgd import TrainSettings, train_dp
from tests.training.test_dp_sgd import _tokens

state_dir, kill_at, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
plan = make_plan(target_epsilon=3.0, delta=1e-3, units=40, batch_size=4, epochs=2.0, max_grad_norm=1.0)

def on_step(step):
    if step == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

settings = TrainSettings(seed=5, state_dir=state_dir or None, checkpoint_every=5,
                         physical_batch_size=3, progress=False, on_step=on_step)
result = train_dp(_tokens(40), preset("tiny"), plan, settings)
torch.save(result.model.state_dict(), out + ".pt")
json.dump({"steps": result.steps, "plan_steps": plan.steps, "epsilon": result.epsilon,
           "epsilon_pld": result.epsilon_pld, "resumed_from": result.resumed_from,
           "losses": result.log.losses, "batch_sizes": result.log.batch_sizes}, open(out, "w"))
"""


def _child(state_dir: str, kill_at: int, out: Path) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "-c", CHILD, state_dir, str(kill_at), str(out)],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    whole = _child("", -1, root / "whole.json")
    assert whole.returncode == 0, whole.stderr[-2000:]
    state = root / "state"
    killed = _child(str(state), 7, root / "killed.json")
    saved = torch.load(state / STATE_FILE, weights_only=False)
    resumed = _child(str(state), -1, root / "resumed.json")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    return (
        root,
        killed,
        saved,
        json.loads((root / "whole.json").read_text()),
        json.loads((root / "resumed.json").read_text()),
    )


def test_sigkill_leaves_the_last_saved_state(runs):
    _, killed, saved, _, _ = runs
    assert killed.returncode == -signal.SIGKILL
    assert saved["step"] == 5  # checkpoints every 5 steps; steps 6-7 were lost with the process
    assert sum(entry[2] for entry in saved["accountant_history"]) == 5


def test_resumed_run_ends_with_exactly_the_uninterrupted_epsilon(runs):
    _, _, _, whole, resumed = runs
    assert resumed["resumed_from"] == 5
    assert resumed["steps"] == whole["steps"] == whole["plan_steps"]
    assert resumed["epsilon"] == whole["epsilon"]  # exactly: same accountant history
    assert resumed["epsilon_pld"] == whole["epsilon_pld"]


def test_resumed_run_continues_from_the_saved_step(runs):
    root, _, _, whole, resumed = runs
    assert resumed["batch_sizes"] == whole["batch_sizes"]  # same Poisson draws after the resume
    assert resumed["losses"] == pytest.approx(whole["losses"], nan_ok=True, rel=1e-6)
    a = torch.load(root / "whole.json.pt")
    b = torch.load(root / "resumed.json.pt")
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name  # same noise, same updates


def test_a_state_from_another_plan_is_refused(runs):
    root, _, saved, _, _ = runs
    other = {**saved["plan"], "noise_multiplier": saved["plan"]["noise_multiplier"] + 0.1}
    with pytest.raises(PrivacyBudgetError, match="saved for another plan"):
        load_state(root / "state" / STATE_FILE, other)
