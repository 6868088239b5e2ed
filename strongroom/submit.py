"""`strongroom submit`: the pipeline, compiled with the site's cluster settings, run on Kubeflow.

The run's parameters come from the same YAML `strongroom run` reads (run_record/params.py), made
to fit the pods first: key files, training state and the MLflow server are where the cluster
wiring puts them (pipelines/cluster.py), and a setting that could not work in a pod (a key file
outside its Secret's mount, records on this machine's disk) is reported with every other problem
before anything is sent. The compiled spec travels in the run request, caching off. The token
comes from --token-file, else the pod's ServiceAccount token when run inside the cluster.
Test: tests/pipelines/test_submit.py (a local server speaking the KFP v2beta1 REST API).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.errors import ConfigError, StrongroomError
from strongroom.pipelines.cluster_settings import ClusterSettings, Mount
from strongroom.run_record.params import RunParams

SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
PSEUDONYM_KEY_FILE, SEAL_KEY_FILE = "pseudonym.key", "seal.key"  # keys of the Secrets (k8s/)
SEAL_PUBLIC_KEY_FILE = "seal.key.pub"  # key of the public key's ConfigMap
TRAIN_STATE_SUBDIR = "train"


@dataclass(frozen=True)
class Submitted:
    experiment_id: str
    run_id: str = ""  # a single run
    recurring_run_id: str = ""  # a schedule

    def line(self) -> str:
        if self.recurring_run_id:
            return f"recurring run {self.recurring_run_id} (experiment {self.experiment_id})"
        return f"run {self.run_id} (experiment {self.experiment_id})"


def for_cluster(params: RunParams, settings: ClusterSettings) -> RunParams:
    """`params` as the pods must see them: unset paths filled in from the mounts, every setting
    a pod could not honour reported at once (ConfigError)."""
    records, release, training = params.records, params.release, params.training
    fills = {
        ("records", "key_file"): (records.key_file, settings.pseudonym_key, PSEUDONYM_KEY_FILE),
        ("release", "seal_key_file"): (release.seal_key_file, settings.seal_key, SEAL_KEY_FILE),
        ("release", "seal_public_key_file"): (
            release.seal_public_key_file,
            settings.seal_public_key,
            SEAL_PUBLIC_KEY_FILE,
        ),
        ("training", "checkpoint_dir"): (
            training.checkpoint_dir or "",
            settings.train_state,
            TRAIN_STATE_SUBDIR,
        ),
    }
    updates: dict[str, dict[str, Any]] = {"records": {}, "release": {}, "training": {}}
    problems = []
    for (group, field), (given, mount, default) in fills.items():
        if not given:
            updates[group][field] = f"{mount.mount_path.rstrip('/')}/{default}"
        elif not mount.holds(given):
            problems.append(_outside(f"{group}.{field}", mount))
    if not release.tracking_uri:
        updates["release"]["tracking_uri"] = settings.tracking_uri
    elif release.tracking_uri.startswith(("sqlite:", "file:", "/")):
        problems.append(
            "release.tracking_uri: a local store dies with its pod; use the MLflow server"
        )
    problems += _records_problems(records.path, settings.records_volume)
    if problems:
        raise ConfigError("cluster run", problems)
    return params.model_copy(
        update={
            group: getattr(params, group).model_copy(update=changes)
            for group, changes in updates.items()
        }
    )


def _outside(field: str, mount: Mount) -> str:
    return f"{field}: not inside {mount.mount_path}, where {mount.name} is mounted"


def _records_problems(path: str, volume: Mount | None) -> list[str]:
    if "://" in path and not path.startswith("file://"):
        return []  # an object store (reached through the air gap's allow-list)
    if volume is not None and volume.holds(path.removeprefix("file://")):
        return []
    where = f"inside {volume.mount_path} ({volume.name})" if volume else "an s3:// or gs:// URI"
    return [f"records.path: the pods cannot read this machine's files: use {where}"]


def read_token(token_file: str | None) -> str | None:
    """The bearer token: --token-file, else the ServiceAccount's inside a pod, else none."""
    path = Path(token_file) if token_file else SERVICE_ACCOUNT_TOKEN
    if not path.is_file():
        if token_file:
            raise StrongroomError(f"{path}: token file not found")
        return None
    token = path.read_text().strip()
    if not token:
        raise StrongroomError(f"{path}: token file is empty")
    return token


def kfp_cron(schedule: str) -> str:
    """KFP's cron has a seconds field first: a five-field expression runs at second 0."""
    fields = schedule.split()
    if len(fields) == 5:
        return f"0 {schedule.strip()}"
    if len(fields) == 6:
        return " ".join(fields)
    raise StrongroomError(f"--schedule: a cron expression has 5 or 6 fields, not {len(fields)}")


def submit(
    params: RunParams,
    settings: ClusterSettings,
    *,
    host: str,
    namespace: str | None = None,
    experiment: str = "strongroom",
    schedule: str | None = None,
    token_file: str | None = None,
    run_name: str | None = None,
) -> Submitted:
    """Compile with `settings`, then start one run (or a schedule) of `params` on `host`."""
    import kfp_server_api
    import urllib3

    arguments = for_cluster(params, settings).groups()
    token = read_token(token_file)
    name = run_name or f"strongroom-{params.release.model_name}"
    try:
        return _start(arguments, settings, host, namespace, experiment, schedule, token, name)
    except kfp_server_api.ApiException as error:  # the body may echo the request: not shown
        raise StrongroomError(f"KFP API at {host}: HTTP {error.status} {error.reason}") from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise StrongroomError(f"KFP API at {host}: no answer ({type(error).__name__})") from None


def _start(
    arguments: dict[str, Any],
    settings: ClusterSettings,
    host: str,
    namespace: str | None,
    experiment: str,
    schedule: str | None,
    token: str | None,
    name: str,
) -> Submitted:
    import kfp

    from strongroom.pipelines.compile import compile_pipeline

    client = kfp.Client(host=host, existing_token=token, namespace=namespace or "kubeflow")
    with tempfile.TemporaryDirectory(prefix="strongroom-submit-") as folder:
        package = str(compile_pipeline(Path(folder) / "pipeline.yaml", settings))
        found = client.create_experiment(name=experiment, namespace=namespace)
        common = {
            "params": arguments,
            "pipeline_package_path": package,
            "pipeline_root": settings.pipeline_root,
            "enable_caching": False,  # whatever the spec says: nothing served from a cache
        }
        if schedule:
            recurring = client.create_recurring_run(
                experiment_id=found.experiment_id,
                job_name=name,
                cron_expression=kfp_cron(schedule),
                no_catchup=True,  # a missed night is not worth two runs' privacy budget
                max_concurrency=1,
                **common,
            )
            return Submitted(found.experiment_id, recurring_run_id=recurring.recurring_run_id)
        run = client.run_pipeline(experiment_id=found.experiment_id, job_name=name, **common)
        return Submitted(found.experiment_id, run_id=run.run_id)
