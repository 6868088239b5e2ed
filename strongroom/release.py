"""Register, gate and promote: the facts of a run, the MLflow version, the policy decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from strongroom.corpus import build as corpus_build
from strongroom.records import deidentify as deid
from strongroom.records import validate as val
from strongroom.records.contract import load_contract
from strongroom.records.io import read_json, write_json
from strongroom.stages import CHECKPOINT, EVAL_JSON, STAGING, TRAIN_JSON


def collect_facts(
    contract: str, validate_dir: str, deid_dir: str, corpus_dir: str, model_dir: str, eval_dir: str
) -> dict[str, Any]:
    """Everything the card and the gate need, from the stages' reports (counts, no values)."""
    validation = read_json(Path(validate_dir) / val.REPORT_JSON)
    deidentified = read_json(Path(deid_dir) / deid.REPORT_JSON)
    corpus = read_json(Path(corpus_dir) / corpus_build.REPORT_JSON)
    train = read_json(Path(model_dir) / TRAIN_JSON)
    evaluation = read_json(Path(eval_dir) / EVAL_JSON)
    privacy = train["privacy"]
    facts: dict[str, Any] = {
        "privacy.epsilon": privacy["epsilon"],
        "privacy.delta": privacy["delta"],
        "privacy.unit": load_contract(contract).privacy_unit,
        "privacy.target_epsilon": privacy["target_epsilon"],
        "privacy.noise_multiplier": privacy["noise_multiplier"],
        "privacy.sampling_rate": privacy["sampling_rate"],
        "privacy.steps": privacy["steps_taken"],
        "privacy.max_grad_norm": privacy["max_grad_norm"],
        "privacy.accountant": privacy["accountant"],
        "privacy.units": privacy["units"],
        "validation.success": validation["success"],
        "validation.rows_in": validation["source_rows_in"],
        "validation.rows_quarantined": validation["rows_quarantined"]
        + validation["ingest_rows_quarantined"],
        "deid.identifiers_removed": deidentified["identifier_cells_removed"]
        + deidentified["known_values_scrubbed_from_text"]
        + deidentified.get("misspelt_values_scrubbed_from_text", 0)
        + sum(deidentified["text_entities_redacted"].values()),
        "deid.residual_identifiers": deidentified["residual_identifiers"],
        "corpus.max_seq_len": corpus["max_seq_len"],
        "corpus.truncated": corpus["truncated"],
        "corpus.units_train": corpus["units_train"],
        "eval.loss": evaluation["loss"],
        "eval.perplexity": evaluation["perplexity"],
        "eval.units": evaluation["units"],
        "model.preset": train["model"]["preset"],
        "model.parameters": train["model"]["parameters"],
        "train.learning_rate": train["train"]["learning_rate"],
        "train.seed": train["train"]["seed"],
        "train.secure_mode": train["train"].get("secure_mode", False),
        "train.resumed_from_step": train["train"].get("resumed_from_step", 0),
        "privacy.epsilon_pld_at_training": privacy.get("epsilon_pld"),
        "privacy.stopped_early": privacy.get("stopped_early", False),
        "data.contract": validation["contract"],
        "data.sha256": validation["source_sha256"],
    }
    return {**facts, **cross_check(facts)}


def cross_check(facts: dict[str, Any]) -> dict[str, float]:
    """Epsilon recomputed from the recorded mechanism by a second, independent accountant."""
    from strongroom.privacy.pld import pld_epsilon

    pld = pld_epsilon(
        noise_multiplier=float(facts["privacy.noise_multiplier"]),
        sampling_rate=float(facts["privacy.sampling_rate"]),
        steps=int(facts["privacy.steps"]),
        delta=float(facts["privacy.delta"]),
    )
    spent = float(facts["privacy.epsilon"])
    gap = abs(pld - spent) / max(spent, 1e-12)
    return {"privacy.epsilon_pld": pld, "privacy.accountant_gap": gap}


def step_metrics(steps: dict[str, Any]) -> dict[str, list[tuple[int, float]]]:
    """Per-step training records as MLflow metric series (step numbers from 1)."""
    series = {
        "train.loss": steps["losses"],
        "train.batch_size": steps["batch_sizes"],
        "train.clip_fraction": steps["clip_fractions"],
    }
    out = {
        name: [(i, float(v)) for i, v in enumerate(values, start=1) if v == v]  # NaN: empty batch
        for name, values in series.items()
    }
    out["train.epsilon"] = [(int(s), float(e)) for s, e in steps["epsilons"]]
    return out


def register_stage(
    *,
    tracking_uri: str,
    model_name: str,
    contract: str,
    validate_dir: str,
    deid_dir: str,
    corpus_dir: str,
    model_dir: str,
    eval_dir: str,
) -> dict[str, Any]:
    from strongroom.tracking.registry import register_model

    facts = collect_facts(contract, validate_dir, deid_dir, corpus_dir, model_dir, eval_dir)
    train = read_json(Path(model_dir) / TRAIN_JSON)
    reports = {
        "validation_json": Path(validate_dir) / val.REPORT_JSON,
        "validation_html": Path(validate_dir) / val.REPORT_HTML,
        "deidentify": Path(deid_dir) / deid.REPORT_JSON,
        "corpus": Path(corpus_dir) / corpus_build.REPORT_JSON,
    }
    registered = register_model(
        tracking_uri=tracking_uri,
        model_name=model_name,
        checkpoint=Path(model_dir) / CHECKPOINT,
        facts=facts,
        step_metrics=step_metrics(train["steps"]),
        reports=reports,
    )
    return {
        "version": registered.version,
        "model_uri": registered.model_uri,
        "run_id": registered.run_id,
    }


def gate_version(tracking_uri: str, model_name: str, version: str, policy: str) -> dict[str, Any]:
    """Evaluate `policy` on a registered version's facts, the PLD cross-check recomputed now."""
    from strongroom.governance.gate import evaluate_policy, load_policy
    from strongroom.tracking.registry import version_facts

    facts = version_facts(tracking_uri, model_name, version)
    facts.update(cross_check(facts))
    decision = evaluate_policy(load_policy(policy), facts)
    return {
        **decision.to_dict(),
        "model_name": model_name,
        "version": version,
        "model_uri": f"models:/{model_name}/{version}",
    }


def gate_stage(
    tracking_uri: str, model_name: str, version: str, policy: str, out_file: str
) -> dict[str, Any]:
    from strongroom.tracking.registry import store_client

    decision = gate_version(tracking_uri, model_name, version, policy)
    store_client(tracking_uri).set_model_version_tag(
        model_name,
        version,
        f"gate.{decision['policy']}",
        "passed" if decision["passed"] else "failed",
    )
    write_json(out_file, decision)
    return decision


def promote(
    tracking_uri: str, model_name: str, version: str, policy: str, alias: str = STAGING
) -> dict[str, Any]:
    """Set `alias` on the version, after evaluating the gate once more (never on a failing version)."""
    from strongroom.errors import GateError
    from strongroom.tracking.registry import store_client

    decision = gate_version(tracking_uri, model_name, version, policy)
    if not decision["passed"]:
        failed = [r["id"] for r in decision["rules"] if not r["passed"]]
        raise GateError(f"{model_name}/{version} fails policy {policy}: {failed}; not promoted")
    store_client(tracking_uri).set_registered_model_alias(model_name, alias, version)
    return {**decision, "alias": alias}
