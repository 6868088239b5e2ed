"""How many worker processes free-text analysis starts when left to choose (``processes=0``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from strongroom.deid.engine import pool


def test_a_few_thousand_texts_stay_in_the_calling_process() -> None:
    assert pool.auto_processes(0) == 1
    assert pool.auto_processes(pool.POOL_FROM_TEXTS - 1) == 1


def test_more_texts_take_more_workers_up_to_the_usable_cpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pool, "usable_cpus", lambda: 4)
    assert pool.auto_processes(pool.POOL_FROM_TEXTS) == 2
    assert pool.auto_processes(3 * pool.POOL_FROM_TEXTS // 2) == 3
    assert pool.auto_processes(100 * pool.POOL_FROM_TEXTS) == 4


@pytest.mark.parametrize(
    ("cpu_max", "expected"), [("max 100000", None), ("150000 100000", 1), ("50000 100000", 1)]
)
def test_a_cgroup_quota_caps_the_cpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_max: str, expected: int | None
) -> None:
    """A Kubernetes CPU limit of 1.5 leaves one worker, whatever the node has."""
    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    monkeypatch.setattr(pool, "CGROUP_CPU_MAX", tmp_path / "cpu.max")
    affinity = len(os.sched_getaffinity(0))
    assert pool.usable_cpus() == (affinity if expected is None else min(expected, affinity))


def test_no_cgroup_file_leaves_the_affinity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pool, "CGROUP_CPU_MAX", tmp_path / "absent")
    assert pool.usable_cpus() == len(os.sched_getaffinity(0))
