"""Register, gate and promote: the run record, the MLflow version, the policy decision.

Registration builds the `Facts` from the stages' typed reports, seals them with training's
evidence into the run record (inside the model artifact), tags the version and adds the run to
the privacy ledger. The gate reads only what verifies (run_record/evidence.py), recomputes epsilon
from the sealed mechanism, adds the ledger's cumulative epsilon, and applies the policy.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from strongroom.records.contract import load_contract
from strongroom.records.io import write_json
from strongroom.records.validate import REPORT_HTML
from strongroom.run_record.evidence import RECORD_FILE, check_record, make_record
from strongroom.run_record.facts import Facts, LedgerFacts, build_facts
from strongroom.run_record.reports import (
    CorpusReport,
    DeidReport,
    EvalReport,
    TrainReport,
    ValidationReport,
)
from strongroom.run_record.seal import load_signing_key, load_verify_key
from strongroom.stages import CHECKPOINT, STAGING


def collect_facts(
    contract: str, validate_dir: str, deid_dir: str, corpus_dir: str, model_dir: str, eval_dir: str
) -> Facts:
    """Everything the card and the gate need, from the stages' reports (counts, no values)."""
    spec = load_contract(contract)
    return build_facts(
        unit=(spec.unit_kind, spec.unit_name, spec.privacy_unit),
        validation=ValidationReport.load(validate_dir),
        deid=DeidReport.load(deid_dir),
        corpus=CorpusReport.load(corpus_dir),
        train=TrainReport.load(model_dir),
        evaluation=EvalReport.load(eval_dir),
    )


def epsilon_series(train: TrainReport) -> dict[str, list[tuple[int, float]]]:
    """The only per-step series published: epsilon spent, which depends on no one's data.

    Per-step loss, clip fraction and batch size are exact statistics of private people: they
    stay in train_report.json among the pipeline's artifacts, out of the registered model's run.
    """
    return {"train.epsilon": [(int(s), float(e)) for s, e in train.steps["epsilons"]]}


def register_stage(
    *,
    tracking_uri: str,
    model_name: str,
    contract: str,
    seal_key_file: str,
    validate_dir: str,
    deid_dir: str,
    corpus_dir: str,
    model_dir: str,
    eval_dir: str,
) -> dict[str, Any]:
    from strongroom.tracking import ledger
    from strongroom.tracking.registry import register_model

    key = load_signing_key(seal_key_file)
    facts = collect_facts(contract, validate_dir, deid_dir, corpus_dir, model_dir, eval_dir)
    train = TrainReport.load(model_dir)
    record = make_record(facts, train.evidence, key)
    with tempfile.TemporaryDirectory() as scratch:
        record_file = Path(scratch) / RECORD_FILE
        record_file.write_text(json.dumps(record, indent=2, sort_keys=True))
        registered = register_model(
            tracking_uri=tracking_uri,
            model_name=model_name,
            checkpoint=Path(model_dir) / CHECKPOINT,
            record_file=record_file,
            facts=facts,
            step_metrics=epsilon_series(train),
            reports={
                "validation_json": Path(validate_dir) / ValidationReport.FILE,
                "validation_html": Path(validate_dir) / REPORT_HTML,
                "deidentify": Path(deid_dir) / DeidReport.FILE,
                "corpus": Path(corpus_dir) / CorpusReport.FILE,
            },
        )
    ledger.record_run(
        tracking_uri,
        data_sha256=facts.data.sha256,
        unit=facts.privacy.unit_name,
        model=f"{model_name}/{registered.version}",
        evidence=train.evidence,
    )
    return {
        "version": registered.version,
        "model_uri": registered.model_uri,
        "run_id": registered.run_id,
    }


def checked_facts(
    tracking_uri: str, model_name: str, version: str, key: Any
) -> tuple[Facts | None, list[str]]:
    """The version's facts as its sealed record says (epsilon recomputed, ledger added), and
    every reason the record cannot be trusted."""
    import mlflow

    from strongroom.tracking import ledger
    from strongroom.tracking.registry import store_client

    client = store_client(tracking_uri)
    tags = dict(client.get_model_version(model_name, version).tags)
    with tempfile.TemporaryDirectory() as scratch:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=client.get_model_version_download_uri(model_name, version),
                dst_path=scratch,
                tracking_uri=tracking_uri,
            )
        )
        record_files = list(local.rglob(RECORD_FILE))
        model_files = list(local.rglob(CHECKPOINT))
        if len(record_files) != 1 or len(model_files) != 1:
            return None, ["the model artifact holds no sealed run record"]
        record = json.loads(record_files[0].read_text())
        checked = check_record(record, model_file=model_files[0], tags=tags, key=key)
    if checked.facts is None:
        return None, checked.problems
    same_people = ledger.up_to(
        ledger.entries(tracking_uri, key=key, data_sha256=checked.facts.data.sha256),
        f"{model_name}/{version}",
    )
    if not same_people:
        return None, [*checked.problems, "the version has no entry in the privacy ledger"]
    total = ledger.cumulative(same_people)
    with_ledger = checked.facts.model_copy(
        update={"ledger": LedgerFacts(cumulative_epsilon=total.reported, runs=len(same_people))}
    )
    return with_ledger, checked.problems


def gate_version(
    tracking_uri: str, model_name: str, version: str, policy: str, seal_public_key_file: str
) -> dict[str, Any]:
    """Evaluate `policy` on a registered version's sealed record (never on its editable tags),
    verified with the seal's public key."""
    from strongroom.governance.gate import evaluate_policy, load_policy

    rules = load_policy(policy)
    facts, problems = checked_facts(
        tracking_uri, model_name, version, load_verify_key(seal_public_key_file)
    )
    decision = evaluate_policy(rules, facts, evidence_problems=problems)
    return {
        **decision.to_dict(),
        "model_name": model_name,
        "version": version,
        "model_uri": f"models:/{model_name}/{version}",
    }


def gate_stage(
    tracking_uri: str,
    model_name: str,
    version: str,
    policy: str,
    seal_public_key_file: str,
    out_file: str,
) -> dict[str, Any]:
    from strongroom.tracking.registry import store_client

    decision = gate_version(tracking_uri, model_name, version, policy, seal_public_key_file)
    store_client(tracking_uri).set_model_version_tag(
        model_name,
        version,
        f"gate.{decision['policy']}",
        "passed" if decision["passed"] else "failed",
    )
    write_json(out_file, decision)
    return decision


def promote(
    tracking_uri: str,
    model_name: str,
    version: str,
    policy: str,
    seal_public_key_file: str,
    alias: str = STAGING,
) -> dict[str, Any]:
    """Set `alias` on the version, after evaluating the gate once more (never on a failing version)."""
    from strongroom.errors import GateError
    from strongroom.tracking.registry import store_client

    decision = gate_version(tracking_uri, model_name, version, policy, seal_public_key_file)
    if not decision["passed"]:
        failed = [r["id"] for r in decision["rules"] if not r["passed"]]
        raise GateError(f"{model_name}/{version} fails policy {policy}: {failed}; not promoted")
    store_client(tracking_uri).set_registered_model_alias(model_name, alias, version)
    return {**decision, "alias": alias}
