"""Release stages: register in MLflow, gate on policy, promote to staging."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Model, Output
from strongroom.components import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def register_op(
    tracking_uri: str,
    model_name: str,
    contract: str,
    validated: Input[Dataset],
    deidentified: Input[Dataset],
    corpus: Input[Dataset],
    model: Input[Model],
    evaluation: Input[Artifact],
) -> NamedTuple("Registered", [("version", str), ("model_uri", str)]):
    """MLflow run + pyfunc model + model card; a new registered version with the facts as tags."""
    from collections import namedtuple

    from strongroom.release import register_stage

    out = register_stage(
        tracking_uri=tracking_uri,
        model_name=model_name,
        contract=contract,
        validate_dir=validated.path,
        deid_dir=deidentified.path,
        corpus_dir=corpus.path,
        model_dir=model.path,
        eval_dir=evaluation.path,
    )
    return namedtuple("Registered", ["version", "model_uri"])(out["version"], out["model_uri"])


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def gate_op(
    tracking_uri: str, model_name: str, version: str, policy: str, decision: Output[Artifact]
) -> bool:
    """Evaluate the governance policy on the version's recorded facts; per-rule reasons.

    A single bool output on purpose: the kfp local runner cannot branch on NamedTuple fields.
    """
    from strongroom.release import gate_stage

    result = gate_stage(tracking_uri, model_name, version, policy, decision.path)
    for rule in result["rules"]:
        print(f"[{'PASS' if rule['passed'] else 'FAIL'}] {rule['id']}: {rule['reason']}")
    decision.metadata["passed"] = result["passed"]
    return result["passed"]


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def promote_op(tracking_uri: str, model_name: str, version: str, policy: str) -> str:
    """Alias `staging`, after re-checking the gate."""
    from strongroom.release import promote

    return promote(tracking_uri, model_name, version, policy)["alias"]
