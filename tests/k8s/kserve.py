"""Offline validation of KServe InferenceService manifests against KServe's own CRD schema.

tests/k8s/schemas/kserve-inferenceservice-v1beta1.json.gz is the v1beta1 openAPIV3Schema of
KServe's CRD (its `source` says which commit; descriptions removed to keep it small). The API
server would prune fields the schema does not know; here they are errors, so a misspelt field
fails the test instead of silently vanishing on the cluster.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).parent / "schemas" / "kserve-inferenceservice-v1beta1.json.gz"


def _closed(schema: Any) -> Any:
    """Objects with declared properties accept no others (unless the CRD keeps unknown fields)."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if (
        "properties" in closed
        and "additionalProperties" not in closed
        and not closed.get("x-kubernetes-preserve-unknown-fields")
    ):
        closed["additionalProperties"] = False
    return closed


@cache
def _validator() -> Any:
    from jsonschema import Draft7Validator

    with gzip.open(SCHEMA, "rt") as source:
        schema = json.load(source)["openAPIV3Schema"]
    schema["properties"]["metadata"] = {"type": "object"}  # the API server's ObjectMeta
    return Draft7Validator(_closed(schema))


def validate_inference_service(manifest: dict[str, Any]) -> list[str]:
    """Every schema error of `manifest`, as `path: message`; [] when it validates."""
    problems = []
    if manifest.get("apiVersion") != "serving.kserve.io/v1beta1":
        problems.append(
            f"apiVersion: {manifest.get('apiVersion')!r} is not serving.kserve.io/v1beta1"
        )
    if manifest.get("kind") != "InferenceService":
        problems.append(f"kind: {manifest.get('kind')!r} is not InferenceService")
    for error in _validator().iter_errors(manifest):
        path = ".".join(str(part) for part in error.absolute_path) or "(top)"
        problems.append(f"{path}: {error.message[:200]}")
    return problems
