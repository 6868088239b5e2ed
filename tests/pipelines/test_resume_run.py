"""Kill a whole `strongroom run` during training, resume it with --resume, then clean it up.

The run's own process is SIGKILLed (as a closed terminal or the OOM killer would): its tasks end
with it (lifetime.py), training saves its state on the way out, and the resumed run reuses the
finished stages from the run's cache and continues training from that state: the same number of
steps and the same epsilon as a run that was never interrupted, one registration, one ledger entry.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from strongroom.cli import main
from strongroom.demo.hospital import write_demo_records
from strongroom.privacy.plan import PrivacyParams, make_plan
from strongroom.run_dir import read_state
from strongroom.run_record.facts import Facts
from strongroom.training.checkpoint import STATE_FILE

PRIVACY = {"target_epsilon": 8.0, "delta": 1e-4, "batch_size": 8, "epochs": 3.0}


def _wait_for(
    predicate, *, timeout: float, what: str, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout} s")
        time.sleep(0.05)


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text in (proc / "cmdline").read_text(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume-run")
    records = write_demo_records(root / "encounters.csv", 90, seed=11)
    config = root / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "records": {"path": str(records), "max_seq_len": 128},
                "privacy": PRIVACY,
                "training": {"model_preset": "demo", "checkpoint_every": 2},
            }
        )
    )
    workdir = root / "runs"
    run = subprocess.Popen(
        [sys.executable, "-m", "strongroom.cli", "run", str(config), "--workdir", str(workdir)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state_files = lambda: list(workdir.glob(f"*/train-state/{STATE_FILE}"))  # noqa: E731
    _wait_for(state_files, timeout=600, what="saved training state", process=run)
    run.send_signal(signal.SIGKILL)  # the run's process alone: its tasks must follow it
    run.wait()
    run_dir = state_files()[0].parents[1]
    # The tasks end with the run (lifetime.py): none is left, training saved its state.
    _wait_for(lambda: not _processes_mentioning(str(run_dir)), timeout=60, what="end of tasks")
    killed = read_state(run_dir)
    exit_code = main(["run", "--resume", str(run_dir)])
    return run_dir, killed, exit_code


def test_a_killed_run_says_so_and_where(killed_and_resumed):
    _, killed, _ = killed_and_resumed
    assert killed.state == "killed" and killed.stage == "train"


def test_the_resumed_run_ends_as_an_uninterrupted_run_would(killed_and_resumed):
    run_dir, _, exit_code = killed_and_resumed
    assert exit_code in (0, 3)  # registered and gated (3: the policy failed, not the run)
    assert read_state(run_dir).state == "succeeded" and read_state(run_dir).attempts == 2
    decision = json.loads((run_dir / "gate_decision.json").read_text())
    facts = Facts.from_flat(decision["facts"])
    corpus = json.loads(next(run_dir.glob("kfp/*/corpus-op/corpus/corpus_report.json")).read_text())
    plan = make_plan(PrivacyParams(**PRIVACY), units=corpus["units_train"], privacy_unit="x")
    assert facts.privacy.steps == plan.steps
    assert facts.privacy.noise_multiplier == plan.noise_multiplier
    assert facts.privacy.epsilon == pytest.approx(plan.planned_epsilon, rel=1e-9)
    assert facts.ledger.runs == 1  # registered once: no budget counted twice


def test_training_continued_from_its_saved_state(killed_and_resumed):
    run_dir, _, _ = killed_and_resumed
    log = (run_dir / "run.log").read_text()
    assert "resuming at step" in log
    ingests = list(run_dir.glob("kfp/*/ingest-op"))
    assert len(ingests) == 1  # the finished stages came from the run's cache
    assert len(list(run_dir.glob("kfp/*/train-op"))) == 2  # killed once, then finished


def test_resume_refuses_a_finished_run_and_clean_removes_data_and_keys(killed_and_resumed):
    run_dir, _, _ = killed_and_resumed
    assert main(["run", "--resume", str(run_dir)]) == 2  # succeeded: nothing to resume
    assert (run_dir / "pseudonym.key").exists() and (run_dir / "kfp").exists()
    assert main(["clean", str(run_dir)]) == 0
    assert not (run_dir / "pseudonym.key").exists() and not (run_dir / "kfp").exists()
    assert not (run_dir / "train-state").exists()
    assert (run_dir / "mlflow.db").exists() and (run_dir / "gate_decision.json").exists()
    assert read_state(run_dir).state == "cleaned"
    assert main(["run", "--resume", str(run_dir)]) == 2
    assert not any(p for p in os.listdir(run_dir) if p.endswith(".csv"))
