"""Run the whole pipeline on this machine with the kfp local runner, and summarise it."""

from __future__ import annotations

import json
import os
import re
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from strongroom.config import load_yaml_model
from strongroom.errors import StrongroomError


class PipelineParams(BaseModel):
    """The pipeline's parameters; `strongroom run CONFIG.yaml` reads them from YAML."""

    model_config = ConfigDict(extra="forbid")

    records_path: str  # CSV / Parquet / JSONL file or folder of parts; local, s3:// or gs://
    contract: str = "hospital_encounters"  # built-in name or YAML path
    policy: str = "hipaa"  # built-in name or YAML path
    model_name: str = "strongroom-hospital"
    target_epsilon: float = Field(default=4.0, gt=0)
    delta: float = Field(default=1e-5, gt=0, lt=1)
    model_preset: str = "demo"
    max_seq_len: int = Field(default=512, ge=16)
    batch_size: int = Field(default=64, ge=1)
    epochs: float = Field(default=3.0, gt=0)
    max_grad_norm: float = Field(default=1.0, gt=0)
    learning_rate: float = Field(default=2e-3, gt=0)
    eval_fraction: float = Field(default=0.1, gt=0, lt=1)
    seed: int = 0
    key_file: str = ""  # pseudonymisation key; default: <run dir>/pseudonym.key (created)
    tracking_uri: str = ""  # default: $MLFLOW_TRACKING_URI, else SQLite in the run directory
    encoding: str = "utf-8"  # CSV and JSON Lines text encoding
    csv_delimiter: str = ""  # default: comma, or tab for .tsv
    physical_batch_size: int = Field(default=0, ge=0)  # people per forward pass; 0 = all at once
    checkpoint_dir: str = ""  # resumable training state; "" = none (a PVC path on Kubeflow)
    secure_mode: bool = False  # CSPRNG sampling and noise (privacy/secure_rng.py): production
    deid_shards: int = Field(default=1, ge=1)  # de-identification fan-out (dsl.ParallelFor)


def load_params(path: str | Path) -> PipelineParams:
    return load_yaml_model(path, PipelineParams)


def new_run_dir(base: str | Path = "strongroom-runs") -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    path = Path(base) / stamp
    path.mkdir(parents=True, exist_ok=False)
    return path.resolve()


def run_local(params: PipelineParams, run_dir: Path) -> dict[str, Any]:
    """Run train_and_gate with SubprocessRunner(use_venv=False); return the gate decision."""
    from kfp import local

    from strongroom.offline import enforce_airgap
    from strongroom.pipelines.train_and_gate import train_and_gate

    # The local runner warns that the Kubeflow image is not used: expected, it runs in this venv.
    warnings.filterwarnings("ignore", message="You may be attemping", category=RuntimeWarning)
    enforce_airgap()  # this process and, through the environment, every component subprocess
    values = params.model_dump()
    if "://" not in params.records_path:
        values["records_path"] = str(Path(params.records_path).resolve())
    values["key_file"] = params.key_file or str(run_dir / "pseudonym.key")
    values["tracking_uri"] = params.tracking_uri or os.environ.get(
        "MLFLOW_TRACKING_URI", f"sqlite:///{run_dir / 'mlflow.db'}"
    )
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(run_dir / "kfp"),
        raise_on_error=True,
    )
    try:
        task = train_and_gate(**values)
    except RuntimeError as error:  # the runner's summary of a failed task; its log is above
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # drop terminal colours
        raise StrongroomError(f"{message} (the task's log above says why)") from None
    decision = json.loads(Path(task.output.path).read_text())
    decision["tracking_uri"] = values["tracking_uri"]
    (run_dir / "gate_decision.json").write_text(json.dumps(decision, indent=2))
    return decision


def summarize(decision: dict[str, Any], run_dir: Path) -> str:
    """The lines a user reads at the end of a run, from the registry's record of it."""
    from strongroom.tracking.registry import version_facts

    uri = decision["tracking_uri"]
    facts = version_facts(uri, decision["model_name"], decision["version"])
    alias = _alias_of(uri, decision["model_name"], decision["version"])
    lines = [
        f"run directory  {run_dir}",
        f"records        {facts['validation.rows_in']:,} rows in, "
        f"{facts['validation.rows_quarantined']:,} quarantined",
        f"identifiers    {facts['deid.identifiers_removed']:,} removed, "
        f"{facts['deid.residual_identifiers']} residual",
        f"privacy        epsilon {facts['privacy.epsilon']:.4f} spent of "
        f"{facts['privacy.target_epsilon']:g}, delta {facts['privacy.delta']:g}, "
        f"unit {facts['privacy.unit']} (PLD cross-check {facts['privacy.epsilon_pld']:.3f})",
        f"               sigma {facts['privacy.noise_multiplier']:.3f}, sampling rate "
        f"{facts['privacy.sampling_rate']:.4f}, {facts['privacy.steps']} steps, clip norm "
        f"{facts['privacy.max_grad_norm']:g}, {facts['privacy.units']:,} people",
        f"held-out       loss {facts['eval.loss']:.3f}, perplexity {facts['eval.perplexity']:.2f} "
        f"({int(facts['eval.units'])} people never trained on)",
        f"gate {decision['policy']:<9} {'PASSED' if decision['passed'] else 'FAILED'}",
    ]
    for rule in decision["rules"]:
        lines.append(f"  [{'pass' if rule['passed'] else 'FAIL'}] {rule['id']}: {rule['reason']}")
    promoted = f" (alias {alias})" if alias else " (not promoted)"
    lines.append(f"model          {decision['model_uri']}{promoted}")
    if uri.startswith("sqlite:///"):
        artifacts = Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts"
        lines.append(
            f"MLflow UI      mlflow ui --backend-store-uri {uri} --default-artifact-root {artifacts}"
        )
    else:
        lines.append(f"MLflow         {uri}")
    return "\n".join(lines)


def _alias_of(uri: str, model_name: str, version: str) -> str:
    from strongroom.tracking.registry import store_client

    return ",".join(store_client(uri).get_model_version(model_name, version).aliases)
