"""A component process of a killed run ends with it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# The parent starts a child that imports strongroom and would sleep a minute, prints its pid,
# then waits; the test kills the parent with SIGKILL.
PARENT = r"""
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import strongroom, time; time.sleep(60)"])
print(child.pid, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for its reaper is gone too
        return stat.read().split()[2] != "Z"


def _child_after_parent_killed(env: dict[str, str]) -> bool:
    root = Path(__file__).resolve().parents[1]
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=root, env=env,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    child = int(parent.stdout.readline())
    time.sleep(3)  # the child has imported strongroom
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.2)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    return alive


def test_a_task_dies_with_its_killed_run():
    assert not _child_after_parent_killed({**os.environ, "STRONGROOM_DIE_WITH_PARENT": "1"})


def test_outside_a_local_run_a_process_is_left_alone():
    env = {k: v for k, v in os.environ.items() if k != "STRONGROOM_DIE_WITH_PARENT"}
    assert _child_after_parent_killed(env)


def test_skipping_the_exit_collection_keeps_the_exit_status_and_the_exit_handlers(tmp_path):
    """A task that fails still fails, and what other exit handlers write is still written."""
    script = (
        "import atexit, sys\n"
        "from strongroom.lifetime import skip_collection_at_exit\n"
        "skip_collection_at_exit()\n"
        f"atexit.register(lambda: open({str(tmp_path / 'handler')!r}, 'w').write('ran'))\n"
        "sys.exit(3)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert run.returncode == 3
    assert (tmp_path / "handler").read_text() == "ran"
    crash = subprocess.run(
        [sys.executable, "-c", script.replace("sys.exit(3)", "raise ValueError('boom')")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert crash.returncode == 1 and "ValueError: boom" in crash.stderr
