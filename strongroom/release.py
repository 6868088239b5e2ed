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

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from strongroom.corpus.build import TRAIN_FILE
from strongroom.errors import StrongroomError
from strongroom.records.contract import load_contract
from strongroom.records.io import write_json
from strongroom.records.validate import REPORT_HTML
from strongroom.run_record.evidence import (
    RECORD_FILE,
    artifact_digests,
    audit_problems,
    check_record,
    make_record,
    text_sha256,
)
from strongroom.run_record.facts import Facts, LedgerFacts, build_facts
from strongroom.run_record.reports import (
    AuditReport,
    CorpusReport,
    DeidReport,
    EvalReport,
    ReferenceReport,
    TrainReport,
    ValidationReport,
)
from strongroom.run_record.seal import file_sha256, load_signing_key, load_verify_key, verified
from strongroom.stages import CHECKPOINT, STAGING


def collect_facts(
    contract: str,
    validate_dir: str,
    deid_dir: str,
    corpus_dir: str,
    model_dir: str,
    eval_dir: str,
    audit: AuditReport | None = None,
    reference: ReferenceReport | None = None,
) -> Facts:
    """Everything the card and the gate need, from the stages' reports (counts, no values)."""
    from strongroom.run_record.lineage import lineage_facts

    spec = load_contract(contract)
    facts = build_facts(
        unit=(spec.unit_kind, spec.unit_name, spec.privacy_unit),
        validation=ValidationReport.load(validate_dir),
        deid=DeidReport.load(deid_dir),
        corpus=CorpusReport.load(corpus_dir),
        train=TrainReport.load(model_dir),
        evaluation=EvalReport.load(eval_dir),
        audit=audit,
        reference=reference,
    )
    return facts.model_copy(update={"lineage": lineage_facts(spec)})


def verified_audit(
    audit_dir: str, training: dict[str, Any], key: Ed25519PublicKey
) -> AuditReport | None:
    """The audit step's report when its seal verifies and it audited these weights on this
    corpus at the run's delta; StrongroomError otherwise. No folder: no audit (its facts stay
    unrecorded, and shipped policies fail the version)."""
    if not audit_dir:
        return None
    report = AuditReport.load(audit_dir)
    body = verified(report.evidence, key, what="audit evidence")
    problems = audit_problems(body, training)
    if problems:
        raise StrongroomError("cannot register: " + "; ".join(problems))
    return report


def matching_reference(reference_dir: str, train: TrainReport) -> ReferenceReport | None:
    """The reference run's report when it trained this run's plan on this run's corpus (None
    when there is no folder or no reference was trained); StrongroomError otherwise."""
    if not reference_dir:
        return None
    report = ReferenceReport.load(reference_dir)
    if not report.trained:
        return None
    sealed = train.evidence
    problems = []
    if report.corpus_sha256 != sealed["corpus_sha256"]:
        problems.append("the reference trained on another corpus than the DP run")
    if report.steps != sealed["mechanism"]["steps"]:
        problems.append("the reference took another number of steps than the DP run")
    asked = train.reference_learning_rate or train.learning_rate  # what the run's settings said
    if (report.model_preset, report.learning_rate) != (train.model_preset, asked):
        problems.append("the reference trained another model or learning rate than the run asked")
    if report.init_weights_sha256 != (sealed.get("init") or {}).get("weights_sha256"):
        problems.append("the reference started from other weights than the DP run")
    if problems:
        raise StrongroomError("cannot register: " + "; ".join(problems))
    return report


def epsilon_series(train: TrainReport) -> dict[str, list[tuple[int, float]]]:
    """The only per-step series published: epsilon spent by the PRV accountant that follows
    training (the reported epsilon is the larger of PRV and PLD), which depends on no one's data.

    Per-step loss, clip fraction and batch size are exact statistics of private people: they
    stay in train_report.json among the pipeline's artifacts, out of the registered model's run.
    """
    return {"train.epsilon_prv": [(int(s), float(e)) for s, e in train.steps["epsilons"]]}


def _check_custody(facts: Facts, evidence: dict[str, Any], corpus_dir: str, model_dir: str) -> None:
    """The reports and files given to registration are the ones training sealed."""
    import numpy as np

    from strongroom.training.checkpoint import fingerprint_tokens

    problems = []
    tokens = np.load(Path(corpus_dir) / TRAIN_FILE)
    if fingerprint_tokens(tokens) != evidence["corpus_sha256"]:
        problems.append("the corpus is not the one trained on")
    if file_sha256(Path(model_dir) / CHECKPOINT) != evidence["model_sha256"]:
        problems.append("the weights are not the ones training sealed")
    if facts.data.sha256 != evidence["data_sha256"]:
        problems.append("the validation report is for other records than the ones trained on")
    if facts.privacy.units != facts.corpus.units_train:
        problems.append("the corpus report counts other people than training did")
    if problems:
        raise StrongroomError("cannot register: " + "; ".join(problems))


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
    audit_dir: str = "",
    reference_dir: str = "",
) -> dict[str, Any]:
    from strongroom.privacy.mechanism import Mechanism
    from strongroom.tracking import ledger
    from strongroom.tracking.registry import register_model, store_lock

    key = load_signing_key(seal_key_file)
    train = TrainReport.load(model_dir)
    evidence = verified(train.evidence, key.public_key(), what="training evidence")
    audit = verified_audit(audit_dir, evidence, key.public_key())
    facts = collect_facts(
        contract, validate_dir, deid_dir, corpus_dir, model_dir, eval_dir, audit=audit,
        reference=matching_reference(reference_dir, train),
    )  # fmt: skip
    _check_custody(facts, evidence, corpus_dir, model_dir)
    # Runs registering together on one SQLite store take turns here, so each sealed record
    # counts every run registered before it (the gate re-reads the live ledger anyway).
    with store_lock(tracking_uri):
        # The ledger as registration finds it, this run included, is sealed into the record: deleting
        # entries later cannot lower what the gate sees.
        known = ledger.read(tracking_uri, key=key.public_key())
        total = ledger.cumulative(
            known.same_people(facts.data.sha256, facts.privacy.unit_name),
            extra=Mechanism.from_dict(evidence["mechanism"]),
        )
        runs = len(known.same_people(facts.data.sha256, facts.privacy.unit_name)) + 1
        facts = facts.model_copy(
            update={"ledger": LedgerFacts(cumulative_epsilon=total.reported, runs=runs)}
        )

        def seal_record(
            version: str, files: dict[str, str], weights: str, card: str
        ) -> dict[str, Any]:
            return make_record(
                facts, train.evidence, model=f"{model_name}/{version}", files=files,
                weights_file=weights, card_sha256=text_sha256(card), key=key,
            )  # fmt: skip

        registered = register_model(
            tracking_uri=tracking_uri,
            model_name=model_name,
            checkpoint=Path(model_dir) / CHECKPOINT,
            facts=facts,
            seal_record=seal_record,
            step_metrics=epsilon_series(train),
            reports={
                "validation_json": Path(validate_dir) / ValidationReport.FILE,
                "validation_html": Path(validate_dir) / REPORT_HTML,
                "deidentify": Path(deid_dir) / DeidReport.FILE,
                "corpus": Path(corpus_dir) / CorpusReport.FILE,
                **({"audit": Path(audit_dir) / AuditReport.FILE} if audit_dir else {}),
            },
        )
        ledger.record_run(
            tracking_uri,
            ledger.new_entry(
                data_sha256=facts.data.sha256,
                unit=facts.privacy.unit_name,
                model=f"{model_name}/{registered.version}",
                evidence=train.evidence,
                key=key,
            ),
        )
    return {
        "version": registered.version,
        "model_uri": registered.model_uri,
        "run_id": registered.run_id,
    }


def _download_version(client: Any, model_name: str, version: str, scratch: str) -> Any:
    """(the sealed run record or None, the model artifact's file digests, the version)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    mv = client.get_model_version(model_name, version)
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=client.get_model_version_download_uri(model_name, version),
            dst_path=str(Path(scratch) / "model"),
            tracking_uri=client.tracking_uri,  # not the process-wide one (mlflow-artifacts:/)
        )
    )
    try:
        record_path = client.download_artifacts(mv.run_id, RECORD_FILE, scratch)
        record = json.loads(Path(record_path).read_text())
    except (OSError, ValueError, MlflowException):
        record = None
    return record, artifact_digests(local), mv


def checked_facts(
    tracking_uri: str, model_name: str, version: str, key: Ed25519PublicKey
) -> tuple[Facts | None, list[str]]:
    """The version's facts as its sealed record says (epsilon recomputed, the ledger's cumulative
    epsilon added), and every reason the record cannot be trusted."""
    from mlflow.exceptions import MlflowException

    from strongroom.tracking import ledger
    from strongroom.tracking.card import without_banner
    from strongroom.tracking.registry import store_client

    client = store_client(tracking_uri)
    model = f"{model_name}/{version}"
    try:
        with tempfile.TemporaryDirectory() as scratch:
            record, files, mv = _download_version(client, model_name, version, scratch)
    except MlflowException:
        raise StrongroomError(f"{model}: no such registered model version") from None
    if record is None:
        return None, [f"{model} has no sealed run record"]
    checked = check_record(record, model=model, files=files, tags=dict(mv.tags), key=key)
    if checked.facts is None:
        return None, checked.problems
    problems = list(checked.problems)
    if not _is_its_card(without_banner(mv.description or ""), record, model_name):
        problems.append("the version's description is not the card of its record")
    known = ledger.read(tracking_uri, key=key)
    problems.extend(known.problems)
    facts = checked.facts
    mine = [
        e
        for e in known.entries
        if e.model == model and e.evidence_signature == checked.evidence_signature
    ]
    if not mine or mine[0].data_sha256 != facts.data.sha256:
        problems.append("the version has no entry of its own in the privacy ledger")
    same = known.same_people(facts.data.sha256, facts.privacy.unit_name)
    total = ledger.cumulative(same)
    sealed = facts.ledger
    ledger_facts = LedgerFacts(
        cumulative_epsilon=max(total.reported, sealed.cumulative_epsilon or 0.0),
        runs=max(len(same), sealed.runs or 0),
    )
    return facts.model_copy(update={"ledger": ledger_facts}), problems


def _is_its_card(description: str, record: dict[str, Any], model_name: str) -> bool:
    """The card sealed at registration (its sha256 in the record); a record sealed before the
    digest was kept: the card this strongroom renders from its facts."""
    from strongroom.tracking.card import render_card

    if "card_sha256" in record:
        return text_sha256(description) == record["card_sha256"]
    return description == render_card(model_name, Facts.from_flat(record["facts"]))


def gate_version(
    tracking_uri: str, model_name: str, version: str, policy: str, seal_public_key_file: str
) -> dict[str, Any]:
    """Evaluate `policy` on a registered version's sealed record (never on its editable tags),
    verified with the seal's public key. A name is the organisation's policy of that name
    (policy_store.py), a path a file the caller brought; the decision says which, with its hash."""
    from strongroom.governance.gate import evaluate_policy, load_policy
    from strongroom.governance.policy_store import org_policy, policy_file_sha256

    if Path(policy).suffix in (".yaml", ".yml"):
        rules, sha256, source = load_policy(policy), policy_file_sha256(policy), "caller's file"
    else:
        found = org_policy(policy)
        rules, sha256, source = found.policy, found.sha256, found.source
    facts, problems = checked_facts(
        tracking_uri, model_name, version, load_verify_key(seal_public_key_file)
    )
    decision = evaluate_policy(rules, facts, evidence_problems=problems)
    return {
        **decision.to_dict(),
        "policy_sha256": sha256,
        "policy_source": source,
        "facts": facts.flat() if facts is not None else None,  # what the gate read (no values)
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
    """The pipeline's gate: `policy` on the version's sealed record, recorded on the version; a
    passing version is promoted (alias `staging`) in the same step, on this decision (a second
    task would only import the accountants again to reach it)."""
    from strongroom.tracking.registry import store_client

    decision = gate_version(tracking_uri, model_name, version, policy, seal_public_key_file)
    record_decision(store_client(tracking_uri), model_name, version, decision)
    if decision["passed"]:
        promote(tracking_uri, model_name, version, policy, seal_public_key_file, decided=decision)
    write_json(out_file, decision)
    return decision


def record_decision(client: Any, model_name: str, version: str, decision: dict[str, Any]) -> None:
    """The gate's outcome on the version: `gate.<policy>` passed / failed with the policy's
    version and sha256 (which text decided); a failing version's description opens with a
    banner saying so (the card below it is unchanged, and still checked)."""
    from strongroom.tracking.card import failed_banner, without_banner

    name = decision["policy"]
    client.set_model_version_tag(
        model_name, version, f"gate.{name}", "passed" if decision["passed"] else "failed"
    )
    client.set_model_version_tag(
        model_name, version, f"gate.{name}.policy", f"v{decision['policy_version']} "
        f"sha256:{decision['policy_sha256']} ({decision['policy_source']})",
    )  # fmt: skip
    if not decision["passed"]:
        description = without_banner(client.get_model_version(model_name, version).description)
        failed = [r["id"] for r in decision["rules"] if not r["passed"]]
        banner = failed_banner(name, decision["policy_version"], failed)
        client.update_model_version(model_name, version, description=banner + description)


def promote(
    tracking_uri: str,
    model_name: str,
    version: str,
    policy: str,
    seal_public_key_file: str,
    *,
    decided: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Alias `staging`, after the run's policy and the organisation's policy of the same name
    both pass: a laxer file brought by the run promotes nothing. `decided`: the run's policy's
    decision on this version, just taken by the caller (else it is taken here)."""
    from strongroom.tracking.registry import store_client

    decision = decided or gate_version(
        tracking_uri, model_name, version, policy, seal_public_key_file
    )
    _refuse_failing(decision, model_name, version)
    if decision["policy_source"] == "caller's file":  # the organisation's policy of that name
        org = gate_version(
            tracking_uri, model_name, version, decision["policy"], seal_public_key_file
        )
        _refuse_failing(org, model_name, version)
    store_client(tracking_uri).set_registered_model_alias(model_name, STAGING, version)
    return {**decision, "alias": STAGING}


def _refuse_failing(decision: dict[str, Any], model_name: str, version: str) -> None:
    from strongroom.errors import GateError

    if not decision["passed"]:
        failed = [r["id"] for r in decision["rules"] if not r["passed"]]
        raise GateError(
            f"{model_name}/{version} fails policy {decision['policy']} "
            f"({decision['policy_source']}): {failed}; not promoted"
        )


def withdraw_aliases(
    tracking_uri: str, model_name: str, version: str, decision: dict[str, Any]
) -> list[str]:
    """A version that fails a gate loses every alias it holds; the reason is tagged."""
    from strongroom.tracking.registry import store_client

    client = store_client(tracking_uri)
    aliases = list(client.get_model_version(model_name, version).aliases)
    for alias in aliases:
        client.delete_registered_model_alias(model_name, alias)
    failed = ",".join(r["id"] for r in decision["rules"] if not r["passed"])
    record_decision(client, model_name, version, decision)
    client.set_model_version_tag(model_name, version, "gate.withdrawn", f"{failed}: {aliases}")
    return aliases
