"""How the compiled pipeline's pods run on a cluster: images, Secrets, volumes, GPU nodes, sizes.

Every default is here, once. A site overrides what differs in a YAML file (`strongroom compile
--cluster FILE`, `strongroom submit ... --cluster FILE`; k8s/overlays/*/cluster.yaml); the names
match the objects k8s/ creates. These are compile-time settings, not run parameters: they decide
the pods, not what the pipeline computes, so they are not part of RunParams.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from strongroom.components import BASE_IMAGE, CUDA_IMAGE

from strongroom.config import load_yaml_model

_FROZEN = ConfigDict(extra="forbid", frozen=True)
_COMPONENT = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*-op")


class Mount(BaseModel):
    """A Kubernetes Secret, ConfigMap or PVC mounted at `mount_path` (its keys become files)."""

    model_config = _FROZEN

    name: str = Field(min_length=1, description="the Secret, ConfigMap or PVC")
    mount_path: str = Field(pattern=r"^/", description="absolute path in the container")

    def holds(self, path: str) -> bool:
        """Whether `path` lies inside this mount."""
        return path.startswith(self.mount_path.rstrip("/") + "/")


class Toleration(BaseModel):
    model_config = _FROZEN

    key: str
    operator: Literal["Equal", "Exists"] = "Exists"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = "NoSchedule"


class GpuScheduling(BaseModel):
    """Where training runs: `count` GPUs (0: a cluster without GPUs, train on CPU)."""

    model_config = _FROZEN

    count: int = Field(default=1, ge=0)
    resource: str = Field(default="nvidia.com/gpu", description="extended resource name")
    node_selector: dict[str, str] = Field(
        default_factory=lambda: {"nvidia.com/gpu.present": "true"},
        description="labels of the GPU nodes (the NVIDIA GPU operator sets this one)",
    )
    tolerations: tuple[Toleration, ...] = (Toleration(key="nvidia.com/gpu"),)


class Resources(BaseModel):
    """Requests and limits of one kind of task (Kubernetes quantities)."""

    model_config = _FROZEN

    cpu_request: str = "500m"
    cpu_limit: str = "2"
    memory_request: str = "1Gi"
    memory_limit: str = "4Gi"


def _default_resources() -> dict[str, Resources]:
    # Sized for the production profile (base preset, ~100k people); spaCy and the NER network
    # make de-identification the memory-hungry record stage; train holds a corpus and a model.
    return {
        "default": Resources(),
        "deidentify-op": Resources(
            cpu_request="2", cpu_limit="4", memory_request="4Gi", memory_limit="8Gi"
        ),
        "train-op": Resources(
            cpu_request="4", cpu_limit="8", memory_request="16Gi", memory_limit="32Gi"
        ),
    }


def _default_timeouts() -> dict[str, int]:
    hour = 3600
    return {"default": 2 * hour, "deidentify-op": 12 * hour, "train-op": 72 * hour}


class ClusterSettings(BaseModel):
    """The cluster wiring of `train_and_gate` (pipelines/cluster.py applies it)."""

    model_config = _FROZEN

    image: str = Field(default=BASE_IMAGE, description="every task's image (pin a digest)")
    train_image: str = Field(
        default="", description=f"train's image; default {CUDA_IMAGE} with GPUs, else `image`"
    )
    image_pull_secrets: tuple[str, ...] = ("strongroom-registry",)
    pseudonym_key: Mount = Mount(
        name="strongroom-pseudonym-key", mount_path="/var/run/secrets/strongroom"
    )
    seal_key: Mount = Mount(
        name="strongroom-seal-key", mount_path="/var/run/secrets/strongroom-seal"
    )
    seal_public_key: Mount = Mount(name="strongroom-seal-public-key", mount_path="/etc/strongroom")
    train_state: Mount = Mount(name="strongroom-train-state", mount_path="/mnt/strongroom-state")
    records_volume: Mount | None = Field(
        default=Mount(name="strongroom-records", mount_path="/data"),
        description="a PVC holding the records, mounted on ingest only (configs/production.yaml "
        "reads /data/extracts/...); null where records.path is an object store URI",
    )
    tracking_uri: str = Field(
        default="http://mlflow.strongroom.svc.cluster.local:5000",
        description="the in-namespace MLflow server (k8s/base/mlflow), when release.tracking_uri "
        "is not set",
    )
    gpu: GpuScheduling = GpuScheduling()
    resources: dict[str, Resources] = Field(default_factory=_default_resources)
    timeouts_s: dict[str, int] = Field(default_factory=_default_timeouts)
    train_retries: int = Field(
        default=2, ge=0, description="train resumes from its PVC state; no other task retries"
    )
    run_as_user: int = Field(default=10001, ge=1, description="the images' non-root user")
    allowed_hosts: tuple[str, ...] = Field(
        default=(
            "mlflow.strongroom.svc.cluster.local",
            "minio.strongroom.svc.cluster.local",
            "ml-pipeline.kubeflow.svc.cluster.local",
        ),
        description="in-cluster hosts / CIDRs the air gap lets the pods reach (offline.py)",
    )
    pipeline_root: str = Field(
        default="s3://strongroom-pipeline-root/",
        description="where task outputs (raw rows among them) are written: a bucket only this "
        "namespace reads, not the cluster's default artifact store",
    )

    @field_validator("resources", "timeouts_s")
    @classmethod
    def _per_component(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Keys are `default` or a component's name (`train-op`): a typo would silently fall
        back to the default size."""
        wrong = sorted(k for k in value if k != "default" and not _COMPONENT.fullmatch(k))
        if wrong:
            raise ValueError(f"keys are 'default' or component names like 'train-op', not {wrong}")
        return value

    def resources_of(self, component: str) -> Resources:
        return self.resources.get(component, self.resources.get("default", Resources()))

    def timeout_of(self, component: str) -> int:
        return self.timeouts_s.get(component, self.timeouts_s.get("default", 2 * 3600))

    def image_of(self, component: str) -> str:
        if component != "train-op":
            return self.image
        if self.train_image:
            return self.train_image
        return CUDA_IMAGE if self.gpu.count and self.image == BASE_IMAGE else self.image


def load_cluster_settings(path: str | Path | None) -> ClusterSettings:
    """The settings in `path` (every problem reported at once), or the defaults."""
    return load_yaml_model(path, ClusterSettings) if path else ClusterSettings()
