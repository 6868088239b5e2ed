"""A registered model is self-contained: its code, pinned requirements, a signature with params."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import yaml

from strongroom.tracking.registry import store_client

# Loads the model in a process where the installed strongroom cannot be imported (its editable
# finder and source folders removed), so only the code packaged with the model can serve it.
CHILD = r"""
import json, sys
sys.meta_path = [f for f in sys.meta_path if "strongroom" not in repr(f).lower()]
sys.path = [p for p in sys.path if p.rstrip("/") != sys.argv[2]]
import mlflow.pyfunc
model = mlflow.pyfunc.load_model(sys.argv[1])
import strongroom, torch
out = model.predict(["age: 5"], params={"max_new_tokens": 4, "seed": 3, "top_p": 0.9})
again = model.predict(["age: 5"], params={"max_new_tokens": 4, "seed": 3, "top_p": 0.9})
print(json.dumps({"file": strongroom.__file__, "out": out, "again": again,
                  "opacus": "opacus" in sys.modules}))
"""


def test_the_model_loads_and_generates_without_strongroom_installed(store, tmp_path):
    import strongroom

    uri, _, versions, _ = store
    client = store_client(uri)
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=client.get_model_version_download_uri("m", versions["secure"]),
        dst_path=str(tmp_path),
    )
    project = str(Path(strongroom.__file__).resolve().parents[1])
    child = subprocess.run(
        [sys.executable, "-c", CHILD, local, project],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["file"].startswith(local)  # the packaged copy served it
    assert not result["opacus"]  # serving imports no training code
    assert len(result["out"]) == 1 and result["out"] == result["again"]  # seeded: reproducible


def test_the_logged_model_pins_its_requirements_and_declares_its_params(store, tmp_path):
    import torch

    uri, _, versions, _ = store
    client = store_client(uri)
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=client.get_model_version_download_uri("m", versions["secure"]),
            dst_path=str(tmp_path),
        )
    )
    requirements = (local / "requirements.txt").read_text().split()
    assert f"torch=={torch.__version__.split('+')[0]}" in requirements
    assert all("==" in line for line in requirements if not line.startswith("-"))
    assert not any(line.startswith("strongroom") for line in requirements)
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    params = {p["name"]: p["default"] for p in json.loads(mlmodel["signature"]["params"])}
    assert params == {"max_new_tokens": 200, "temperature": 0.8, "top_p": 1.0, "seed": -1}
    assert "saved_input_example_info" in mlmodel
