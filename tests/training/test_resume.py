"""Kill a training run with SIGKILL, resume it, and get exactly the uninterrupted run's result."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from strongroom.errors import PrivacyBudgetError
from strongroom.training.checkpoint import STATE_FILE

# A child process: trains the same tiny plan; KILL_AT kills it (SIGKILL, no clean-up) right after
# that step; it prints the result as JSON when it finishes.
CHILD = r"""
import json, os, signal, sys
import torch
torch.set_num_threads(1)
from strongroom.model.config import preset
from strongroom.privacy.plan import PrivacyParams, make_plan
from strongroom.training.dp_sgd import TrainSettings, train_dp
from tests.training.test_dp_sgd import _tokens

state_dir, kill_at, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
params = PrivacyParams(target_epsilon=3.0, delta=1e-3, batch_size=4, epochs=2.0)
plan = make_plan(params, units=40, privacy_unit="patient")

def on_step(step):
    if step == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

settings = TrainSettings(seed=5, checkpoint_dir=state_dir or None, checkpoint_every=5,
                         physical_batch_size=3)
result = train_dp(_tokens(40), preset("tiny"), plan, settings, progress=False, on_step=on_step)
torch.save(result.model.state_dict(), out + ".pt")
json.dump({"steps": result.steps, "plan_steps": plan.steps, "epsilon": result.epsilon,
           "epsilon_pld": result.epsilons.pld, "resumed_from": result.resumed_from,
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
    saved = torch.load(state / STATE_FILE, weights_only=True)
    shutil.copy(state / STATE_FILE, root / "killed_state.pt")  # the resumed run moves on
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


def _resume_killed_state(root: Path, tokens, settings: dict) -> None:
    from strongroom.model.config import preset
    from strongroom.privacy.plan import PrivacyParams, make_plan
    from strongroom.training.dp_sgd import TrainSettings, train_dp

    state = root / "other"
    state.mkdir(exist_ok=True)
    shutil.copy(root / "killed_state.pt", state / STATE_FILE)
    params = PrivacyParams(target_epsilon=3.0, delta=1e-3, batch_size=4, epochs=2.0)
    plan = make_plan(params, units=40, privacy_unit="patient")
    run = TrainSettings(checkpoint_dir=str(state), checkpoint_every=5, physical_batch_size=3,
                        **settings)  # fmt: skip
    train_dp(tokens, preset("tiny"), plan, run, progress=False)


def test_a_state_from_other_data_is_refused(runs):
    from tests.training.test_dp_sgd import _tokens

    root = runs[0]
    other_people = _tokens(40)[::-1].copy()  # the same number of people, other records
    with pytest.raises(PrivacyBudgetError, match="other data"):
        _resume_killed_state(root, other_people, {"seed": 5})


def test_a_state_from_other_settings_is_refused(runs):
    from tests.training.test_dp_sgd import _tokens

    root = runs[0]
    with pytest.raises(PrivacyBudgetError, match="learning_rate"):
        _resume_killed_state(root, _tokens(40), {"seed": 5, "learning_rate": 0.01})


def test_a_completed_run_leaves_no_state_to_resume(runs, tmp_path):
    from strongroom.model.config import preset
    from strongroom.privacy.plan import PrivacyParams, make_plan
    from strongroom.training.dp_sgd import TrainSettings, finish_state, train_dp
    from tests.training.test_dp_sgd import _tokens

    plan = make_plan(PrivacyParams(delta=1e-3, batch_size=8), units=40, privacy_unit="patient")
    settings = TrainSettings(checkpoint_dir=str(tmp_path), checkpoint_every=2)
    result = train_dp(_tokens(40), preset("tiny"), plan, settings, progress=False)
    assert (tmp_path / STATE_FILE).exists()
    finish_state(settings, completed=not result.stopped_early)
    assert not (tmp_path / STATE_FILE).exists()
