"""Cluster wiring of the compiled pipeline with kfp-kubernetes: what each task's pod gets.

Applied task by task from the component's name, so a stage added to the pipeline gets the defaults
(image, requests and limits, timeout, non-root, air gap) without an edit here, and a Secret
reaches only the tasks listed in NEEDS:

- the pseudonymisation key: shard planning and de-identification (they pseudonymise);
- the private seal key: train, register and audit (they sign what ran);
- the public seal key: the gate (it verifies, then promotes);
- the training-state PVC, the GPU and its node selector and tolerations: train, the one task that
  retries (it resumes from the state on its PVC; nothing else is safe to repeat: register would
  make a second version).

Every pod runs with STRONGROOM_NEVER_MAKE_KEYS=1, so a missing Secret is a clear error at the first
task that reads it, never a key made in a pod (which would die with the pod, and give each shard
its own pseudonyms). The kfp local runner cannot apply this platform configuration; the local
pipeline (`build_pipeline(resumable=True)`) is built without it. Tests:
tests/pipelines/test_cluster_wiring.py.
"""

from __future__ import annotations

from typing import Any

from kfp import kubernetes
from strongroom.pipelines.cluster_settings import ClusterSettings

from strongroom.keys import NEVER_MAKE_KEYS_ENV, SHARED_KEYS_ENV
from strongroom.offline import AIRGAP_ENV, ALLOWED_HOSTS_ENV

PSEUDONYM_KEY, SEAL_KEY, SEAL_PUBLIC_KEY, TRAIN_STATE, GPU, RECORDS = (
    "pseudonym key",
    "seal key",
    "seal public key",
    "train state",
    "gpu",
    "records volume",
)

# component name -> what its pod needs beyond the defaults
NEEDS: dict[str, frozenset[str]] = {
    "ingest-op": frozenset({RECORDS}),  # only where the site keeps its records on a PVC
    "deid-shards-op": frozenset({PSEUDONYM_KEY}),
    "deidentify-op": frozenset({PSEUDONYM_KEY}),
    "train-op": frozenset({SEAL_KEY, TRAIN_STATE, GPU}),
    "register-op": frozenset({SEAL_KEY}),
    "audit-op": frozenset({SEAL_KEY}),
    "gate-op": frozenset({SEAL_PUBLIC_KEY}),
}
RETRY_BACKOFF = "120s"  # time for the node (or a spot GPU) to come back before train resumes


def component_of(task: Any) -> str:
    return str(task.component_spec.name)


def wire(task: Any, settings: ClusterSettings) -> Any:
    """Apply the cluster settings to one task; the task."""
    name = component_of(task)
    needs = NEEDS.get(name, frozenset())
    task.set_container_image(settings.image_of(name))
    _size(task, settings, name)
    _harden(task, settings)
    kubernetes.set_timeout(task, settings.timeout_of(name))
    if PSEUDONYM_KEY in needs:
        _mount_secret(task, settings.pseudonym_key.name, settings.pseudonym_key.mount_path)
    if SEAL_KEY in needs:
        _mount_secret(task, settings.seal_key.name, settings.seal_key.mount_path)
    if SEAL_PUBLIC_KEY in needs:
        mount = settings.seal_public_key
        kubernetes.use_config_map_as_volume(task, mount.name, mount_path=mount.mount_path)
    if TRAIN_STATE in needs:
        mount = settings.train_state
        kubernetes.mount_pvc(task, pvc_name=mount.name, mount_path=mount.mount_path)
        if settings.train_retries:
            task.set_retry(settings.train_retries, backoff_duration=RETRY_BACKOFF)
    if RECORDS in needs and settings.records_volume is not None:
        mount = settings.records_volume
        kubernetes.mount_pvc(task, pvc_name=mount.name, mount_path=mount.mount_path)
    if GPU in needs and settings.gpu.count:
        _schedule_on_gpu(task, settings)
    return task


def _size(task: Any, settings: ClusterSettings, name: str) -> None:
    size = settings.resources_of(name)
    task.set_cpu_request(size.cpu_request).set_cpu_limit(size.cpu_limit)
    task.set_memory_request(size.memory_request).set_memory_limit(size.memory_limit)


def _harden(task: Any, settings: ClusterSettings) -> None:
    """Non-root, pulled with the site's credentials, air-gapped except for the allow-list, and
    never making a key."""
    kubernetes.set_security_context(task, run_as_user=settings.run_as_user, run_as_non_root=True)
    if settings.image_pull_secrets:
        kubernetes.set_image_pull_secrets(task, list(settings.image_pull_secrets))
    task.set_env_variable(AIRGAP_ENV, "1")
    task.set_env_variable(ALLOWED_HOSTS_ENV, ",".join(settings.allowed_hosts))
    task.set_env_variable(NEVER_MAKE_KEYS_ENV, "1")
    _lineage(task, settings.image_of(component_of(task)))


def _lineage(task: Any, image: str) -> None:
    """What registration records as the run's lineage (run_record/lineage.py): the image the
    task runs and the KFP run it belongs to (the label KFP's API server puts on every pod)."""
    from strongroom.run_record.lineage import IMAGE_ENV, KFP_RUN_ID_ENV

    task.set_env_variable(IMAGE_ENV, image)
    kubernetes.use_field_path_as_env(
        task, env_name=KFP_RUN_ID_ENV, field_path="metadata.labels['pipeline/runid']"
    )


def _mount_secret(task: Any, secret: str, mount_path: str) -> None:
    # optional=True on purpose: a missing Secret then starts the pod, and the key loader says
    # which file is missing and why (instead of a pod stuck in ContainerCreating). Mounted
    # Secret files are mode 0644 in a one-user container: allowed, with a warning in the log.
    kubernetes.use_secret_as_volume(task, secret_name=secret, mount_path=mount_path, optional=True)
    task.set_env_variable(SHARED_KEYS_ENV, "1")


def _schedule_on_gpu(task: Any, settings: ClusterSettings) -> None:
    gpu = settings.gpu
    task.set_accelerator_type(gpu.resource).set_accelerator_limit(gpu.count)
    for label, value in gpu.node_selector.items():
        kubernetes.add_node_selector(task, label_key=label, label_value=value)
    for toleration in gpu.tolerations:
        kubernetes.add_toleration(
            task,
            key=toleration.key,
            operator=toleration.operator,
            value=toleration.value,
            effect=toleration.effect,
        )
