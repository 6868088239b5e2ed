"""Two processes under torchrun (gloo on CPU): the entry point a Kubeflow TrainJob runs."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from strongroom.privacy.plan import PrivacyParams, make_plan
from strongroom.run_record.reports import CorpusReport
from tests.training.test_dp_sgd import _tokens

ROOT = Path(__file__).resolve().parents[2]
PLAN = PrivacyParams(target_epsilon=3, delta=1e-3, batch_size=8, epochs=2)


def _corpus(tmp_path: Path) -> Path:
    """40 people's tokens and their corpus report; the training output folder."""
    np.save(tmp_path / "train.npy", _tokens(40))
    CorpusReport(
        privacy_unit="patient_id", units_train=40, units_eval=0, truncated=0, max_seq_len=32,
        source_sha256="1" * 64,
    ).write(tmp_path)  # fmt: skip
    return tmp_path / "out"


def _torchrun(tmp_path: Path, out: Path, *options: str) -> list[str]:
    """Two ranks of the entry point on PLAN, tiny preset, physical batches of 2."""
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "strongroom.training.launch", "--corpus", str(tmp_path), "--out", str(out),
        "--model-preset", "tiny", "--target-epsilon", "3", "--delta", "1e-3", "--batch-size", "8",
        "--epochs", "2", "--physical-batch-size", "2", *options,
        "--seal-key-file", str(tmp_path / "seal.key"),
    ]  # fmt: skip


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_torchrun_two_ranks_trains_the_single_process_plan(tmp_path):
    out = _corpus(tmp_path)
    command = _torchrun(
        tmp_path, out, "--checkpoint-dir", str(tmp_path / "state"), "--max-steps", "6"
    )
    run = _run(command)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "train_report.json").read_text())
    plan = make_plan(PLAN, units=40, privacy_unit="patient")
    evidence = report["evidence"]
    assert evidence["mechanism"]["steps"] == 6 and plan.steps == 10  # stopped at max_steps
    assert evidence["mechanism"] == plan.mechanism.after(6).to_dict()  # the same guarantee
    assert evidence["stopped_early"] and evidence["secure_rng"]
    assert evidence["data_sha256"] == "1" * 64  # the records' fingerprint, carried and sealed
    sizes = report["steps"]["batch_sizes"]  # summed over both ranks' shares
    assert len(sizes) == 6 and 2 <= np.mean(sizes) <= 14  # E = 8, Binomial(40, 1/5)
    states = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert states == ["train_state.rank0.pt", "train_state.rank1.pt"]  # each rank's sampler
    # Both ranks resume from the step they agreed on and finish; the finished state is removed.
    run = _run([c for c in command if c not in ("--max-steps", "6")])
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "train_report.json").read_text())
    assert report["evidence"]["resumed_from_step"] == 6
    assert report["evidence"]["mechanism"] == plan.mechanism.to_dict()
    assert not list((tmp_path / "state").iterdir())


def test_torchrun_two_ranks_with_book_keeping_clipping(tmp_path):
    """Each rank clips its share in one backward; Opacus' distributed optimizer sums and noises."""
    out = _corpus(tmp_path)
    command = _torchrun(tmp_path, out, "--clipping", "book_keeping", "--max-steps", "3")
    run = _run(command)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "train_report.json").read_text())
    plan = make_plan(PLAN, units=40, privacy_unit="patient")
    assert report["clipping"] == "book_keeping"
    assert report["evidence"]["mechanism"] == plan.mechanism.after(3).to_dict()
    assert len(report["steps"]["batch_sizes"]) == 3
    assert all(
        np.isfinite(report["steps"]["losses"][i]) or report["steps"]["batch_sizes"][i] == 0
        for i in range(3)
    )
