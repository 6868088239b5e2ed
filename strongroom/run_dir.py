"""A local run's directory: what it holds, the state it is in, and its clean-up.

`strongroom demo` / `run` write, beside the pipeline root (`kfp/`), the run's parameters
(`params.json`, local defaults resolved: the key file, the store, the training state) and its
state (`state.json`): running (with the process id), failed at a stage (with the reason), or
succeeded. A run whose process is gone while its state says running was killed. Such a run, or a
failed one, resumes with `strongroom run --resume RUN_DIR`; `strongroom clean RUN_DIR` removes
what holds personal data or keys (records copied into the run, pipeline artifacts, the
pseudonymisation key, the training state) and keeps what holds none (the log, the state, the
gate decision, the MLflow store with its DP model and the seal keys).
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from strongroom.errors import StrongroomError
from strongroom.run_record.params import RunParams

STATE_FILE = "state.json"
PARAMS_FILE = "params.json"
PIPELINE_ROOT = "kfp"
TRAIN_STATE_DIR = "train-state"
RECORDS_DIR = "records"
_TASK_DONE = "executor_output.json"  # written by the local runner when a task finishes

State = Literal["running", "killed", "failed", "succeeded", "cleaned"]


class RunState(BaseModel):
    state: State
    pid: int = 0  # the `strongroom` process running it
    pid_started: int = 0  # its start time (clock ticks since boot): a reused pid is not it
    stage: str = ""  # the stage that failed or was running when the run stopped
    reason: str = ""  # why it failed: the runner's summary, never record content
    updated: str = ""  # UTC, ISO 8601
    attempts: int = 1  # first run + resumes

    def line(self) -> str:
        where = f" at stage {self.stage}" if self.stage else ""
        return f"{self.state}{where}" + (f": {self.reason}" if self.reason else "")


def save_params(run_dir: Path, params: RunParams) -> None:
    (run_dir / PARAMS_FILE).write_text(params.model_dump_json(indent=2))


def load_saved_params(run_dir: Path) -> RunParams:
    path = run_dir / PARAMS_FILE
    if not path.is_file():
        raise StrongroomError(f"{run_dir} is not a strongroom run directory (no {PARAMS_FILE})")
    return RunParams.model_validate_json(path.read_text())


def write_state(run_dir: Path, state: State, **fields: object) -> RunState:
    """Replace the state file atomically (a reader never sees half a file)."""
    previous = read_state(run_dir) if (run_dir / STATE_FILE).exists() else None
    attempts = previous.attempts if previous else 1
    record = RunState.model_validate(
        {"attempts": attempts, **fields, "state": state, "updated": datetime.now(UTC).isoformat()}
    )
    temporary = run_dir / f".{STATE_FILE}.{os.getpid()}"
    temporary.write_text(record.model_dump_json(indent=2))
    temporary.replace(run_dir / STATE_FILE)
    return record


def read_state(run_dir: Path) -> RunState:
    """The recorded state; `running` whose process is gone reads as `killed`, at the stage
    that had not finished."""
    path = run_dir / STATE_FILE
    if not path.is_file():
        raise StrongroomError(f"{run_dir} is not a strongroom run directory (no {STATE_FILE})")
    state = RunState.model_validate_json(path.read_text())
    if state.state == "running" and not _alive(state.pid, state.pid_started):
        return state.model_copy(update={"state": "killed", "stage": unfinished_stage(run_dir)})
    return state


def unfinished_stage(run_dir: Path) -> str:
    """The first stage (by start time) that started and never finished, in any attempt;
    '' when none did. Task folders are named after the components (`train-op` -> train)."""
    started: dict[str, float] = {}
    finished: set[str] = set()
    for task in (run_dir / PIPELINE_ROOT).glob("*/**/*-op"):
        stage = task.name.removesuffix("-op")
        started[stage] = min(started.get(stage, float("inf")), task.stat().st_mtime)
        if (task / _TASK_DONE).exists():
            finished.add(stage)
    waiting = sorted((at, stage) for stage, at in started.items() if stage not in finished)
    return waiting[0][1] if waiting else ""


def check_resumable(run_dir: Path) -> RunState:
    state = read_state(run_dir)
    if state.state == "running":
        raise StrongroomError(f"{run_dir} is still running (process {state.pid})")
    if state.state == "succeeded":
        raise StrongroomError(f"{run_dir} succeeded: nothing to resume")
    if state.state == "cleaned":
        raise StrongroomError(f"{run_dir} was cleaned: its data and key are gone, start a new run")
    return state


def clean(run_dir: Path) -> list[str]:
    """Remove what holds personal data or keys from a run that is not running; what was
    removed, relative to the run directory. Records and keys outside it are the user's."""
    state = read_state(run_dir)
    if state.state == "running":
        raise StrongroomError(f"{run_dir} is still running (process {state.pid}): stop it first")
    params = load_saved_params(run_dir)
    candidates = [
        run_dir / PIPELINE_ROOT,
        run_dir / RECORDS_DIR,
        run_dir / TRAIN_STATE_DIR,
        Path(params.records.key_file),
        Path(params.training.checkpoint_dir or run_dir / TRAIN_STATE_DIR),
    ]
    removed = []
    for path in dict.fromkeys(p.resolve() for p in candidates):
        if not path.is_relative_to(run_dir.resolve()) or not path.exists():
            continue
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        removed.append(str(path.relative_to(run_dir.resolve())))
    write_state(run_dir, "cleaned", stage=state.stage, reason=f"was {state.state}")
    return removed


def process_started(pid: int) -> int:
    """A process's start time in clock ticks since boot (Linux; 0 elsewhere or if gone)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else 0


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces): state is [0]."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()
    except OSError:
        return []


def _alive(pid: int, started: int) -> bool:
    if pid <= 0:
        return False
    fields = _stat_fields(pid)
    if not fields:  # gone (or not Linux: then trust the signal check)
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return not os.path.isdir("/proc/self")
    return fields[0] != "Z" and (not started or int(fields[19]) == started)
