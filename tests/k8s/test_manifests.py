"""k8s/ rendered with `kubectl kustomize` (offline), every object validated against the
Kubernetes schemas (kubernetes-validate), the namespace's locks checked one by one, and checkov
run over the result with no failed check (skips carry their reason where they are written)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from strongroom.pipelines.cluster_settings import ClusterSettings, load_cluster_settings

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
KUBERNETES_VERSION = "1.32.0"  # the oldest release we support (kubectl here is 1.32 too)
TARGETS = ["base", "overlays/gpu", "overlays/cpu-only", "serving"]
CRDS = {"InferenceService"}  # no schema in Kubernetes': its pod part is validated as a Pod
CHECKOV = Path(os.environ.get("STRONGROOM_TOOLS_VENV", REPO / ".venv-tools")) / "bin" / "checkov"
KUBECTL = shutil.which("kubectl")

needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed here")


def render(target: str) -> list[dict]:
    done = subprocess.run(
        [KUBECTL, "kustomize", str(K8S / target)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed here")
    return {target: render(target) for target in TARGETS}


def pod_specs(objects: list[dict]) -> list[tuple[str, dict]]:
    """(name, pod spec) of every workload: Deployment, StatefulSet, Job, InferenceService."""
    specs = []
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
            specs.append((name, obj["spec"]["template"]["spec"]))
        elif obj["kind"] == "InferenceService":
            specs.append((name, obj["spec"]["predictor"]))
    return specs


def as_pod(name: str, spec: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name.split("/")[1]},
        "spec": spec,
    }


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_every_object_validates_against_the_kubernetes_schemas(rendered, target):
    import kubernetes_validate

    objects = rendered[target]
    assert objects
    for obj in objects:
        if obj["kind"] in CRDS:
            continue  # its pod spec is validated below
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    for name, spec in pod_specs(objects):
        kubernetes_validate.validate(as_pod(name, spec), KUBERNETES_VERSION, strict=True)


def test_secret_templates_validate_and_hold_no_value():
    import kubernetes_validate

    templates = list(yaml.safe_load_all((K8S / "secret-templates" / "secrets.yaml").read_text()))
    for obj in templates:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        values = obj.get("stringData", obj.get("data", {}))
        assert values and all(value == "" for value in values.values()), obj["metadata"]["name"]
    names = {obj["metadata"]["name"] for obj in templates}
    settings = ClusterSettings()
    wired = {settings.pseudonym_key.name, settings.seal_key.name, *settings.image_pull_secrets}
    assert wired | {settings.seal_public_key.name} <= names  # one template per name the pods use


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_no_secret_with_a_value_is_ever_rendered(rendered, target):
    assert not [obj for obj in rendered[target] if obj["kind"] == "Secret"]


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_every_pod_runs_non_root_with_a_read_only_root_filesystem(rendered, target):
    for name, spec in pod_specs(rendered[target]):
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] >= 10000, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec.get("initContainers", []) + spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, (name, container["name"])
            assert context["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert context["capabilities"] == {"drop": ["ALL"]}, (name, container["name"])
            assert container["resources"]["requests"] and container["resources"]["limits"]


@needs_kubectl
@pytest.mark.parametrize("target", ["base", "overlays/gpu", "overlays/cpu-only"])
def test_the_namespace_is_restricted_and_denies_all_traffic_it_does_not_name(rendered, target):
    objects = rendered[target]
    (namespace,) = [o for o in objects if o["kind"] == "Namespace"]
    labels = namespace["metadata"]["labels"]
    assert all(labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
               for mode in ("enforce", "audit", "warn"))  # fmt: skip
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {
        "strongroom"
    }
    policies = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    ports = set()
    for spec in policies.values():
        for rule in spec.get("egress", []):
            assert rule.get("to"), "an egress rule without `to` lets a pod reach anything"
            assert not [peer for peer in rule["to"] if "ipBlock" in peer]  # no address outside
            ports |= {port["port"] for port in rule["ports"]}
        for rule in spec.get("ingress", []):
            assert all("namespaceSelector" not in peer for peer in rule["from"])  # in-namespace
    # DNS, MLflow, PostgreSQL (MLflow's), the object store, the KFP API and its metadata service
    assert ports == {53, 5000, 5432, 9000, 8887, 8888, 8080}
    assert {o["spec"]["type"] for o in objects if o["kind"] == "Service"} == {"ClusterIP"}
    assert not [o for o in objects if o["kind"] in ("Ingress", "Route", "Gateway")]


@needs_kubectl
def test_the_pipeline_role_creates_trainjobs_and_reads_its_two_secrets_only(rendered):
    objects = rendered["base"]
    (role,) = [o for o in objects if o["kind"] == "Role"]
    assert role["rules"] == [
        {"apiGroups": ["trainer.kubeflow.org"], "resources": ["trainjobs"],
         "verbs": ["create", "get", "list", "watch", "delete"]},
        {"apiGroups": [""], "resources": ["secrets"],
         "resourceNames": ["strongroom-pseudonym-key", "strongroom-seal-key"], "verbs": ["get"]},
    ]  # fmt: skip
    assert not [o for o in objects if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]


@needs_kubectl
def test_volumes_and_mlflow_match_what_the_pipeline_expects(rendered):
    objects = rendered["base"]
    settings = ClusterSettings()
    claims = {o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim"}
    assert {settings.train_state.name, settings.records_volume.name} <= claims
    (mlflow,) = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "mlflow"
    ]
    command = " ".join(mlflow["spec"]["template"]["spec"]["containers"][0]["args"])
    assert "--serve-artifacts" in command and "--backend-store-uri" in command
    (service,) = [
        o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "mlflow"
    ]
    assert (
        settings.tracking_uri
        == f"http://mlflow.strongroom.svc.cluster.local:{service['spec']['ports'][0]['port']}"
    )
    assert settings.tracking_uri.split("//")[1].split(":")[0] in settings.allowed_hosts


def test_each_overlay_names_valid_cluster_settings_for_compile():
    gpu = load_cluster_settings(K8S / "overlays" / "gpu" / "cluster.yaml")
    cpu = load_cluster_settings(K8S / "overlays" / "cpu-only" / "cluster.yaml")
    assert gpu.gpu.count == 1 and cpu.gpu.count == 0


@needs_kubectl
@pytest.mark.skipif(
    not CHECKOV.exists(), reason=f"checkov is not installed at {CHECKOV}: make tools"
)
def test_checkov_reports_no_failed_check_and_every_skip_says_why(rendered, tmp_path):
    files = []
    for target, objects in rendered.items():
        path = tmp_path / f"{target.replace('/', '-')}.yaml"
        path.write_text(yaml.safe_dump_all(objects))
        files += ["-f", str(path)]
    files += ["-f", str(K8S / "secret-templates" / "secrets.yaml")]
    done = subprocess.run(
        [str(CHECKOV), *files, "--framework", "kubernetes", "--skip-download", "--quiet",
         "--output", "json"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )  # fmt: skip
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [c["check_id"] + " " + c["resource"] for r in reports
              for c in r["results"]["failed_checks"]]  # fmt: skip
    assert not failed
    assert sum(r["summary"]["passed"] for r in reports) > 300
    for report in reports:
        for skipped in report["results"].get("skipped_checks", []):
            reason = skipped.get("check_result", {}).get("suppress_comment", "")
            assert len(reason) > 40, (skipped["check_id"], skipped["resource"])
