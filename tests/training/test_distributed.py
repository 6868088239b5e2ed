"""Two processes under torchrun (gloo on CPU): the entry point a Kubeflow TrainJob runs."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from strongroom.privacy.plan import make_plan
from tests.training.test_dp_sgd import _tokens


def test_torchrun_two_ranks_trains_the_single_process_plan(tmp_path):
    np.save(tmp_path / "train.npy", _tokens(40))
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "strongroom.training.launch", "--corpus", str(tmp_path), "--out", str(out),
        "--preset", "tiny", "--epsilon", "3", "--delta", "1e-3", "--batch-size", "8",
        "--epochs", "2", "--physical-batch-size", "2", "--checkpoint-dir", str(tmp_path / "state"),
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "train_report.json").read_text())
    plan = make_plan(
        target_epsilon=3, delta=1e-3, units=40, batch_size=8, epochs=2, max_grad_norm=1.0
    )
    assert report["privacy"]["steps_taken"] == plan.steps == 10
    assert report["privacy"]["epsilon"] == plan.epsilon_after(plan.steps)  # the same guarantee
    sizes = report["steps"]["batch_sizes"]  # summed over both ranks' shares
    assert len(sizes) == plan.steps and 2 <= np.mean(sizes) <= 14  # E = 8, Binomial(40, 1/5)
    states = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert states == ["train_state.rank0.pt", "train_state.rank1.pt"]  # each rank's sampler
