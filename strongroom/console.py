"""A quiet terminal for long local runs: stage progress and the summary on screen, everything
else (the kfp runner's executor JSON, library warnings, per-stage logs) in a log file.

Both the file descriptors 1 and 2 (the task subprocesses write there) and Python's own streams
and logging handlers go through one pipe; a reader thread writes every line to the log and shows
only the lines a user follows: each stage starting and finishing, the training progress bar
(redrawn in place), and strongroom's own error lines. `--verbose` turns it off.
Tests: tests/test_console.py.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STARTED = re.compile(r"Executing task '([^']+)'")
_FINISHED = re.compile(r"Task '([^']+)' finished with status (\w+)")
_PROGRESS = re.compile(r"(DP-SGD|reference):\s+\d+%[^\]]*\]")  # tqdm's bar to its bracket
_SWEEP = re.compile(r"INFO strongroom\.sweep: (.+)")  # `strongroom sweep`: which run is next


def _shown(line: str) -> str | None:
    """What the terminal shows for one line of output (None: the log only)."""
    plain = _ANSI.sub("", line).strip()
    if match := _STARTED.search(plain):
        return f"  {match.group(1).removesuffix('-op'):<16} running"
    if match := _FINISHED.search(plain):
        status = "done" if match.group(2) == "SUCCESS" else f"{match.group(2)} (see the log)"
        return f"  {match.group(1).removesuffix('-op'):<16} {status}"
    if match := _SWEEP.search(plain):
        return f"  {match.group(1)}"
    return plain if plain.startswith("strongroom:") else None


def _pump(read_fd: int, log: TextIO, terminal: TextIO) -> None:
    buffer = b""
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            buffer += chunk
            *lines, buffer = re.split(rb"[\r\n]", buffer)
            for raw in lines:
                _show(raw.decode("utf-8", errors="replace"), log, terminal)
    if buffer:
        _show(buffer.decode("utf-8", errors="replace"), log, terminal)


def _show(line: str, log: TextIO, terminal: TextIO) -> None:
    if not line.strip():
        return
    log.write(line + "\n")
    if bar := _PROGRESS.search(_ANSI.sub("", line)):  # the training bar, redrawn in place
        bar = bar.group(0)
        terminal.write("\r  " + bar[:110])
        terminal.flush()
        if " 100%|" in bar:
            terminal.write("\n")
        return
    if (text := _shown(line)) is not None:
        terminal.write(text + "\n")
        terminal.flush()


@contextmanager
def quiet(log_path: Path, *, verbose: bool = False) -> Iterator[None]:
    """Everything written inside goes to `log_path`; the terminal shows stage progress."""
    if verbose:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    saved = os.dup(1), os.dup(2)
    # The terminal is the real stdout, kept aside: fd 1 itself now leads into the pipe.
    terminal = io.TextIOWrapper(os.fdopen(os.dup(saved[0]), "wb"), line_buffering=True)
    streams = sys.stdout, sys.stderr
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.stream for h in handlers]
    with open(log_path, "a", encoding="utf-8", buffering=1) as log:
        pump = threading.Thread(target=_pump, args=(read_fd, log, terminal), daemon=True)
        pump.start()
        os.dup2(write_fd, 1)
        os.dup2(write_fd, 2)
        writer = io.TextIOWrapper(os.fdopen(os.dup(write_fd), "wb"), line_buffering=True)
        sys.stdout = sys.stderr = writer
        for handler in handlers:  # assigned, not setStream: that flushes a stream maybe closed
            handler.stream = writer
        try:
            yield
        finally:
            writer.flush()
            sys.stdout, sys.stderr = streams
            for handler, stream in zip(handlers, previous, strict=True):
                handler.stream = stream
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in (*saved, write_fd):
                os.close(fd)
            writer.close()  # the last writer: the pump sees the end of the pipe
            pump.join(timeout=10)
            terminal.close()


@contextmanager
def logged_run(run_dir: Path, *, verbose: bool) -> Iterator[None]:
    """`quiet` into <run dir>/run.log; a failure's message names the log."""
    from strongroom.errors import StrongroomError

    log_path = run_dir / "run.log"
    try:
        with quiet(log_path, verbose=verbose):
            yield
    except StrongroomError as error:
        if verbose:
            raise
        raise StrongroomError(f"{error} (full log: {log_path})") from None
