"""The InferenceService manifests (the one `strongroom approve` writes, the one in k8s/serving)
validate against KServe's CRD schema, offline; the check catches what the API server would not."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from strongroom.governance.deploy import inference_service

from tests.k8s.kserve import validate_inference_service

ROOT = Path(__file__).resolve().parents[2]


def _written() -> dict:
    return inference_service(
        "Strongroom_Hospital.v2", "12", image="registry.example/strongroom@sha256:" + "b" * 64,
        tracking_uri="http://mlflow.strongroom.svc.cluster.local:5000", policy="hipaa",
    )  # fmt: skip


def test_the_manifest_approve_writes_validates():
    manifest = _written()
    assert validate_inference_service(manifest) == []
    name = manifest["metadata"]["name"]
    assert name == "strongroom-hospital-v2-v12" and len(name) <= 45


def test_the_shipped_serving_manifest_validates():
    documents = yaml.safe_load_all((ROOT / "k8s/serving/inferenceservice.yaml").read_text())
    services = [d for d in documents if d and d.get("kind") == "InferenceService"]
    assert services and all(validate_inference_service(d) == [] for d in services)


def test_a_misspelt_field_or_a_wrong_type_is_caught():
    misspelt = copy.deepcopy(_written())
    misspelt["spec"]["predictor"]["containers"][0]["comand"] = ["strongroom"]
    assert any("comand" in p for p in validate_inference_service(misspelt))
    wrong = copy.deepcopy(_written())
    wrong["spec"]["predictor"]["containers"][0]["ports"][0]["containerPort"] = "8080"
    assert any("containerPort" in p for p in validate_inference_service(wrong))
    assert validate_inference_service({**_written(), "kind": "Deployment"}) != []
