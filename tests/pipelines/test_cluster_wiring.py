"""The compiled pipeline says how each pod runs: checked in the IR, through both compile routes
(`strongroom compile` and `kfp dsl compile`), task by task."""

from __future__ import annotations

import os

import pytest
import yaml
from strongroom.pipelines.cluster import NEEDS, PSEUDONYM_KEY, SEAL_KEY, SEAL_PUBLIC_KEY
from strongroom.pipelines.cluster_settings import ClusterSettings

from strongroom.cli import main
from tests.pipelines.ir import container_tasks, kfp_dsl_compile, load_ir

IMAGE = "registry.hospital.internal/strongroom-cpu@sha256:" + "a" * 64
CUDA = "registry.hospital.internal/strongroom-cuda@sha256:" + "b" * 64
SITE = {  # what a site changes: its GPU nodes' label and taint
    "gpu": {
        "node_selector": {"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu"}],
    }
}
STAGES = {"deid-shards-op", "ingest-op", "validate-op", "deidentify-op", "merge-deid-op",
          "corpus-op", "train-op", "evaluate-op", "audit-op", "reference-op", "register-op",
          "gate-op", "record-outcome-op"}  # fmt: skip


def _users_of(need: str) -> set[str]:
    return {name for name, needs in NEEDS.items() if need in needs and name in STAGES}


@pytest.fixture(scope="module", params=["strongroom compile", "kfp dsl compile"])
def compiled(request, tmp_path_factory):
    """(route, tasks, the settings the route compiled with, image of train, of the others)."""
    out = tmp_path_factory.mktemp("ir") / "pipeline.yaml"
    if request.param == "strongroom compile":
        site = out.with_name("cluster.yaml")
        site.write_text(yaml.safe_dump(SITE))
        argv = ["compile", "--out", str(out), "--cluster", str(site)]
        assert main([*argv, "--image", IMAGE, "--train-image", CUDA]) == 0
        settings = ClusterSettings.model_validate(SITE)
    else:  # kfp imported first, no strongroom CLI: the image from the environment
        env = {**os.environ, "STRONGROOM_IMAGE": IMAGE, "STRONGROOM_CUDA_IMAGE": CUDA}
        env.pop("KFP_DISABLE_EXECUTION_CACHING_BY_DEFAULT", None)
        done = kfp_dsl_compile(out, env)
        assert done.returncode == 0, done.stderr[-2000:]
        settings = ClusterSettings()
    return request.param, container_tasks(out), settings, out


def test_every_stage_is_compiled_and_runs_the_configured_image(compiled):
    _, tasks, _, _ = compiled
    assert {task.component for task in tasks.values()} == STAGES
    for task in tasks.values():
        expected = CUDA if task.component == "train-op" else IMAGE
        assert task.container["image"] == expected, task.name


def test_no_task_is_cached_in_either_route(compiled):
    _, tasks, _, out = compiled
    assert not [task.name for task in tasks.values() if task.caches]
    assert "enableCache: true" not in out.read_text()


def test_every_task_has_requests_limits_a_timeout_and_runs_as_non_root(compiled):
    _, tasks, settings, _ = compiled
    for task in tasks.values():
        resources = task.container["resources"]
        for field in ("resourceCpuRequest", "resourceCpuLimit", "resourceMemoryRequest",
                      "resourceMemoryLimit"):  # fmt: skip
            assert resources.get(field), (task.name, field)
        assert int(task.kubernetes["activeDeadlineSeconds"]) > 0, task.name
        assert task.kubernetes["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": str(settings.run_as_user),
        }
        assert [s["secretName"] for s in task.kubernetes["imagePullSecret"]] == [
            "strongroom-registry"
        ]
        assert (
            task.env["STRONGROOM_AIRGAP"] == "1" and task.env["STRONGROOM_NEVER_MAKE_KEYS"] == "1"
        )
        assert task.env["STRONGROOM_ALLOWED_HOSTS"] == ",".join(settings.allowed_hosts)


def test_train_asks_for_a_gpu_node_and_mounts_its_state_volume(compiled):
    _, tasks, settings, _ = compiled
    (train,) = [t for t in tasks.values() if t.component == "train-op"]
    accelerator = train.container["resources"]["accelerator"]
    assert (accelerator["resourceType"], accelerator["resourceCount"]) == ("nvidia.com/gpu", "1")
    assert train.kubernetes["nodeSelector"]["labels"] == settings.gpu.node_selector
    tolerations = [
        {k: v for k, v in t.items() if k in ("key", "operator", "value", "effect")}
        for t in train.kubernetes["tolerations"]
    ]
    assert tolerations == [t.model_dump(exclude_none=True) for t in settings.gpu.tolerations]
    assert [(m["constant"], m["mountPath"]) for m in train.kubernetes["pvcMount"]] == [
        ("strongroom-train-state", "/mnt/strongroom-state")
    ]  # where configs/production.yaml puts training.checkpoint_dir
    for task in tasks.values():
        if task is not train:
            assert "accelerator" not in task.container["resources"], task.name
            assert not {"nodeSelector", "tolerations"} & set(task.kubernetes)
    volumes = {t.component: [m["constant"] for m in t.kubernetes["pvcMount"]]
               for t in tasks.values() if "pvcMount" in t.kubernetes}  # fmt: skip
    assert volumes == {"train-op": ["strongroom-train-state"], "ingest-op": ["strongroom-records"]}


def test_keys_reach_exactly_the_tasks_that_use_them(compiled):
    _, tasks, settings, _ = compiled
    by_secret = {settings.pseudonym_key.name: PSEUDONYM_KEY, settings.seal_key.name: SEAL_KEY}
    for secret, need in by_secret.items():
        holders = {t.component for t in tasks.values() if secret in t.secrets()}
        assert holders == _users_of(need), secret
    public = {
        t.component for t in tasks.values() if settings.seal_public_key.name in t.config_maps()
    }
    assert public == _users_of(SEAL_PUBLIC_KEY) == {"gate-op"}
    assert _users_of(PSEUDONYM_KEY) == {"deid-shards-op", "deidentify-op"}
    assert _users_of(SEAL_KEY) == {"train-op", "audit-op", "register-op"}
    for task in tasks.values():
        mounts = [m["mountPath"] for m in task.kubernetes.get("secretAsVolume", [])]
        assert all(m.startswith("/var/run/secrets/strongroom") for m in mounts)


def test_only_train_retries_and_the_key_check_comes_first(compiled):
    _, tasks, _, _ = compiled
    retried = {t.component: t.spec["retryPolicy"]["maxRetryCount"] for t in tasks.values()
               if "retryPolicy" in t.spec}  # fmt: skip
    assert retried == {"train-op": 2}  # resumes from its PVC; register would make a 2nd version
    (ingest,) = [t for t in tasks.values() if t.component == "ingest-op"]
    (shards,) = [t for t in tasks.values() if t.component == "deid-shards-op"]
    assert ingest.spec["dependentTasks"] == [shards.name] and not shards.spec.get("dependentTasks")


def test_an_exit_handler_records_every_outcome_and_outputs_stay_in_the_pipeline_root(compiled):
    _, tasks, settings, out = compiled
    (outcome,) = [t for t in tasks.values() if t.component == "record-outcome-op"]
    assert outcome.spec["triggerPolicy"]["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED"
    assert (
        not outcome.secrets()
    )  # it writes KFP's identifiers and the state to MLflow, nothing else
    spec, _ = load_ir(out)
    assert spec["defaultPipelineRoot"] == settings.pipeline_root


def test_a_cluster_without_gpus_trains_on_cpu_in_the_same_image(tmp_path):
    site = tmp_path / "cpu-only.yaml"
    site.write_text(yaml.safe_dump({"gpu": {"count": 0}}))
    out = tmp_path / "pipeline.yaml"
    assert main(["compile", "--out", str(out), "--cluster", str(site), "--image", IMAGE]) == 0
    (train,) = [t for t in container_tasks(out).values() if t.component == "train-op"]
    assert train.container["image"] == IMAGE
    assert "accelerator" not in train.container["resources"]
    assert "nodeSelector" not in train.kubernetes and "pvcMount" in train.kubernetes


def test_an_invalid_cluster_file_names_every_problem(tmp_path, capsys):
    site = tmp_path / "cluster.yaml"
    site.write_text(
        yaml.safe_dump(
            {
                "gpu": {"count": -1},
                "train_retries": "many",
                "imagee": "x",
                "resources": {"train_op": {}},
            }
        )
    )
    assert main(["compile", "--out", str(tmp_path / "p.yaml"), "--cluster", str(site)]) == 2
    err = capsys.readouterr().err
    assert "gpu.count" in err and "train_retries" in err and "imagee" in err
    assert "train_op" in err and "4 problem(s)" in err


def test_the_local_pipeline_has_no_cluster_wiring():
    from strongroom.pipelines.train_and_gate import build_pipeline

    local = build_pipeline(resumable=True)
    assert not local.platform_spec.platforms  # the kfp local runner cannot apply it
    assert not local.pipeline_spec.default_pipeline_root
