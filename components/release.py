"""Release stages: register in MLflow; gate on policy, promoting a passing version to staging."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Model, Output
from strongroom.components import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def register_op(
    records: dict,
    release: dict,
    validated: Input[Dataset],
    deidentified: Input[Dataset],
    corpus: Input[Dataset],
    model: Input[Model],
    evaluation: Input[Artifact],
    audit: Input[Artifact],
    reference: Input[Artifact],
) -> NamedTuple("Registered", [("version", str), ("model_uri", str)]):
    """MLflow run + pyfunc model (weights + sealed run record) + card; a new version tagged with
    the facts; an entry in the privacy ledger."""
    from collections import namedtuple

    from strongroom.lifetime import skip_collection_at_exit
    from strongroom.release import register_stage
    from strongroom.run_record.params import RecordsParams, ReleaseParams

    skip_collection_at_exit()  # a fast exit: lifetime.py

    where = ReleaseParams.model_validate(release)
    out = register_stage(
        tracking_uri=where.tracking_uri,
        model_name=where.model_name,
        contract=RecordsParams.model_validate(records).contract,
        seal_key_file=where.seal_key_file,
        validate_dir=validated.path,
        deid_dir=deidentified.path,
        corpus_dir=corpus.path,
        model_dir=model.path,
        eval_dir=evaluation.path,
        audit_dir=audit.path,
        reference_dir=reference.path,
    )
    return namedtuple("Registered", ["version", "model_uri"])(out["version"], out["model_uri"])


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def gate_op(release: dict, version: str, decision: Output[Artifact]) -> bool:
    """Evaluate the governance policy on the version's sealed run record, per-rule reasons; a
    passing version gets the alias `staging` (the organisation's policy of that name passing too).

    The bool output says whether the version passed (and was promoted).
    """
    from strongroom.lifetime import skip_collection_at_exit
    from strongroom.release import gate_stage
    from strongroom.run_record.params import ReleaseParams

    skip_collection_at_exit()  # a fast exit: lifetime.py

    where = ReleaseParams.model_validate(release)
    result = gate_stage(
        where.tracking_uri,
        where.model_name,
        version,
        where.policy,
        where.verify_key_file,
        decision.path,
    )
    for rule in result["rules"]:
        print(f"[{'PASS' if rule['passed'] else 'FAIL'}] {rule['id']}: {rule['reason']}")
    decision.metadata["passed"] = result["passed"]
    return result["passed"]
