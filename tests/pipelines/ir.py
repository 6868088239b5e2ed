"""Reading a compiled pipeline (IR YAML) task by task, as an operator checking it would."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Task:
    """One container task of the compiled pipeline: where it is in the DAG, its executor, and
    the Kubernetes settings kfp-kubernetes put on it."""

    name: str
    spec: dict[str, Any]  # the task in its DAG: caching, retry, trigger, dependencies
    container: dict[str, Any]  # deploymentSpec executor: image, env, resources
    kubernetes: dict[str, Any]  # platforms.kubernetes executor config

    @property
    def component(self) -> str:
        return self.spec["componentRef"]["name"].removeprefix("comp-")

    @property
    def caches(self) -> bool:
        return bool(self.spec.get("cachingOptions", {}).get("enableCache", False))

    @property
    def env(self) -> dict[str, str]:
        return {item["name"]: item["value"] for item in self.container.get("env", [])}

    def secrets(self) -> set[str]:
        return {s["secretName"] for s in self.kubernetes.get("secretAsVolume", [])} | {
            s["secretName"] for s in self.kubernetes.get("secretAsEnv", [])
        }

    def config_maps(self) -> set[str]:
        return {c["configMapName"] for c in self.kubernetes.get("configMapAsVolume", [])}


def load_ir(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pipeline spec and the platform spec (empty when there is none)."""
    documents = list(yaml.safe_load_all(path.read_text()))
    return documents[0], (documents[1] if len(documents) > 1 else {})


def container_tasks(path: Path) -> dict[str, Task]:
    """Every container task, whatever DAG (root, exit handler, loop, condition) holds it."""
    spec, platform = load_ir(path)
    dags = [spec["root"]["dag"]] + [c["dag"] for c in spec["components"].values() if "dag" in c]
    executors = spec["deploymentSpec"]["executors"]
    kubernetes = platform.get("platforms", {}).get("kubernetes", {})
    k8s_executors = kubernetes.get("deploymentSpec", {}).get("executors", {})
    tasks = {}
    for dag in dags:
        for name, task in dag["tasks"].items():
            component = spec["components"][task["componentRef"]["name"]]
            if "executorLabel" not in component:
                continue  # a loop, condition or exit-handler group
            label = component["executorLabel"]
            tasks[name] = Task(
                name, task, executors[label]["container"], k8s_executors.get(label, {})
            )
    return tasks


def kfp_dsl_compile(out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`kfp dsl compile` on pipelines/train_and_gate.py, in a fresh process (kfp imported before
    strongroom, as that command does)."""
    command = "import sys; from kfp.cli.__main__ import main; sys.argv[0] = 'kfp'; main()"
    return subprocess.run(
        [sys.executable, "-c", command, "dsl", "compile", "--py",
         str(REPO / "pipelines" / "train_and_gate.py"), "--function", "train_and_gate",
         "--output", str(out)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
