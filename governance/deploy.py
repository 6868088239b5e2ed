"""Serving an approved version: `strongroom serve` (verify, then MLflow's scoring server) and the
KServe `InferenceService` that `strongroom approve` writes for the version it approved.

Serving starts only after `verify` accepts the alias, and it serves the version verify checked
(`models:/NAME/VERSION`, never the alias again, which could move in between); verify runs again
every few minutes while it serves, and a failure stops the server. The manifest's
container runs `strongroom serve` too, so an alias set by hand in the MLflow UI deploys nothing:
the pod refuses to start.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from strongroom.errors import GateError
from strongroom.lifetime import stop_process_group

SERVING_PORT = 8080  # KServe's default for a custom predictor
TRUST_MOUNT = "/etc/strongroom"  # the seal's public key, the trusted approvers, the policies
# What the serving pod reads from TRUST_MOUNT (ConfigMaps the organisation owns; see
# k8s/secret-templates/secrets.yaml): verify needs all three.
TRUST_CONFIG_MAPS = {
    "seal-public-key": ("strongroom-seal-public-key", f"{TRUST_MOUNT}/seal"),
    "approvers": ("strongroom-approvers", f"{TRUST_MOUNT}/approvers"),
    "policies": ("strongroom-policies", f"{TRUST_MOUNT}/policies"),
}
_DNS_LABEL = re.compile(r"[^a-z0-9-]+")


def serve_command(model_uri: str, *, host: str, port: int) -> list[str]:
    """MLflow's scoring server on this environment's packages (no conda, no virtualenv: air-gapped)."""
    return [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri,
        "--env-manager", "local", "--host", host, "--port", str(port),
    ]  # fmt: skip


def serve(
    tracking_uri: str,
    model_name: str,
    alias: str,
    *,
    policy: str,
    seal_public_key_file: str,
    host: str = "127.0.0.1",
    port: int = SERVING_PORT,
    version: str | None = None,
    recheck_seconds: float = 300.0,
) -> int:
    """Verify `model_name@alias` (and, when given, that it is `version`), then run the scoring
    server for that version, verifying again every `recheck_seconds`: a revoked approval, a
    moved alias or a policy that fails now stops the server (GateError), and a restarted pod
    refuses to start. 0: replace this process with the server, verified once."""
    checks = {"policy": policy, "seal_public_key_file": seal_public_key_file}
    verified = _verified_version(tracking_uri, model_name, alias, version, **checks)
    # The registry too: an MLFLOW_REGISTRY_URI left in the environment would make the server load
    # `models:/NAME/N` from another store than the one just verified.
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_REGISTRY_URI": tracking_uri,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    # MLflow starts the scoring server as `uvicorn` from PATH: this environment's, even when
    # it was not activated.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    command = serve_command(f"models:/{model_name}/{verified}", host=host, port=port)
    print(f"{model_name}@{alias} -> version {verified}: verified; serving on {host}:{port}")
    sys.stdout.flush()
    if recheck_seconds <= 0:
        os.execvpe(command[0], command, env)
    server = subprocess.Popen(command, env=env, start_new_session=True)  # its workers with it
    signal.signal(signal.SIGTERM, lambda *_: stop_process_group(server))  # the pod is stopping
    try:
        while server.poll() is None:
            try:
                server.wait(timeout=recheck_seconds)
            except subprocess.TimeoutExpired:
                _verified_version(tracking_uri, model_name, alias, verified, **checks)
    finally:
        stop_process_group(server)
    return server.returncode


def _verified_version(
    tracking_uri: str,
    model_name: str,
    alias: str,
    version: str | None,
    *,
    policy: str,
    seal_public_key_file: str,
) -> str:
    """The version `alias` points to, when verify accepts it (and it is `version`, if given)."""
    from strongroom.governance.approval import verify

    result = verify(
        tracking_uri, model_name, alias, policy=policy, seal_public_key_file=seal_public_key_file
    )
    problems = list(result.problems)
    if version is not None and result.version and result.version != version:
        problems.append(f"{model_name}@{alias} is version {result.version}, not {version}")
    if problems:
        raise GateError(f"not serving {model_name}@{alias}: " + "; ".join(problems))
    return result.version


def _resource_name(model_name: str, version: str) -> str:
    """A DNS-1035 label (what KServe requires of a name), at most 45 characters: KServe
    appends `-predictor-...` to it for its own objects."""
    base = _DNS_LABEL.sub("-", model_name.lower()).strip("-") or "model"
    if not base[0].isalpha():
        base = f"m-{base}"
    suffix = f"-v{version}"
    return base[: 45 - len(suffix)].rstrip("-") + suffix


def inference_service(
    model_name: str,
    version: str,
    *,
    image: str,
    tracking_uri: str,
    policy: str,
    namespace: str = "strongroom",
    allowed_hosts: str = "",
) -> dict[str, Any]:
    """A KServe InferenceService (RawDeployment, custom predictor) serving `version` through
    `strongroom serve`: the pod verifies the approval and the gate before it answers."""
    env = [
        {"name": "MLFLOW_TRACKING_URI", "value": tracking_uri},
        {"name": "STRONGROOM_APPROVERS", "value": TRUST_CONFIG_MAPS["approvers"][1]},
        {"name": "STRONGROOM_POLICY_DIR", "value": TRUST_CONFIG_MAPS["policies"][1]},
    ]
    if allowed_hosts:
        env.append({"name": "STRONGROOM_ALLOWED_HOSTS", "value": allowed_hosts})
    mounts = [{"name": "tmp", "mountPath": "/tmp"}] + [
        {"name": volume, "mountPath": path, "readOnly": True}
        for volume, (_, path) in TRUST_CONFIG_MAPS.items()
    ]
    volumes = [{"name": "tmp", "emptyDir": {}}] + [
        {"name": volume, "configMap": {"name": config_map}}
        for volume, (config_map, _) in TRUST_CONFIG_MAPS.items()
    ]
    container = {
        "name": "kserve-container",
        "image": image,
        "command": ["strongroom"],
        "args": [
            "serve",
            f"{model_name}@production",
            "--version",
            version,
            "--policy",
            policy,
            "--seal-public-key",
            f"{TRUST_MOUNT}/seal/seal.key.pub",
            "--host",
            "0.0.0.0",
            "--port",
            str(SERVING_PORT),
        ],
        "env": env,
        "ports": [{"containerPort": SERVING_PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/ping", "port": SERVING_PORT}, "periodSeconds": 10},
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": SERVING_PORT},
            "initialDelaySeconds": 60,
            "periodSeconds": 20,
        },
        "resources": {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "4Gi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": _resource_name(model_name, version),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "strongroom"},
            "annotations": {
                "serving.kserve.io/deploymentMode": "RawDeployment",  # no Knative, no route
                "strongroom.io/model": model_name,
                "strongroom.io/version": version,
            },
        },
        "spec": {
            "predictor": {
                "serviceAccountName": "strongroom-serving",
                "automountServiceAccountToken": False,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 10001,
                    "runAsGroup": 10001,
                    "fsGroup": 10001,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [container],
                "volumes": volumes,
            }
        },
    }


def write_inference_service(manifest: dict[str, Any], directory: str | Path) -> Path:
    """The manifest as `<directory>/<name>.yaml` (kubectl apply -f)."""
    import yaml

    path = Path(directory) / f"{manifest['metadata']['name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Written by `strongroom approve`: serves this approved version only; the pod runs\n"
        "# `strongroom serve`, which verifies the approval and the gate before it answers.\n"
    )
    path.write_text(header + yaml.safe_dump(manifest, sort_keys=False))
    return path
