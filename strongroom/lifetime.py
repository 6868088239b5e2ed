"""Component processes die with the run that started them.

The kfp local runner starts each task as a child process. When the run is killed (SIGKILL, a
closed terminal), a child would go on alone: a gate tagged a version `passed` after its parent
died. With STRONGROOM_DIE_WITH_PARENT=1 (set by `strongroom demo` / `run` for their tasks) a
process asks Linux to send it SIGTERM when its parent dies (prctl PR_SET_PDEATHSIG): training
stops after its step with its state saved, any other stage ends. Elsewhere this does nothing.
Tests: tests/test_lifetime.py.
"""

from __future__ import annotations

import atexit
import ctypes
import gc
import os
import signal
import subprocess
import sys

DIE_WITH_PARENT_ENV = "STRONGROOM_DIE_WITH_PARENT"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """Ask for SIGTERM when the parent dies (Linux, when the environment asks for it)."""
    if os.environ.get(DIE_WITH_PARENT_ENV) != "1" or not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        return  # not permitted here: nothing worse than before
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def skip_collection_at_exit() -> None:
    """At exit, leave the objects alive now out of the collector's last passes (``gc.freeze``,
    run after every other exit handler). A task that imported torch, MLflow and Opacus spends
    ~1.3 s of its exit collecting them, ~0.15 s with this, for a process that is ending anyway.
    Exit handlers still run and the exit status is untouched; a task's outputs are written and
    closed before it returns, so nothing waits on a collection. Called by the component bodies.
    """
    atexit.register(gc.freeze)  # registered first, so run last


def stop_process_group(process: subprocess.Popen, *, grace: float = 20.0) -> None:
    """SIGTERM to `process`'s group (started with start_new_session=True: it and its workers),
    SIGKILL after `grace` seconds; nothing when it has ended."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
