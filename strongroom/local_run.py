"""Run the whole pipeline on this machine with the kfp local runner, and summarise it."""

from __future__ import annotations

import json
import os
import re
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from strongroom.errors import StrongroomError
from strongroom.lifetime import DIE_WITH_PARENT_ENV
from strongroom.run_dir import (
    PIPELINE_ROOT,
    TRAIN_STATE_DIR,
    check_resumable,
    load_saved_params,
    process_started,
    save_params,
    unfinished_stage,
    write_state,
)
from strongroom.run_record.facts import Facts
from strongroom.run_record.params import RunParams


def new_run_dir(base: str | Path = "strongroom-runs") -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    path = Path(base) / stamp
    path.mkdir(parents=True, exist_ok=False)
    return path.resolve()


def with_local_defaults(params: RunParams, run_dir: Path) -> RunParams:
    """Absolute records path; the pseudonymisation key, the training state and the MLflow store
    in the run directory and the seal key beside the store, unless given."""
    records, release, training = params.records, params.release, params.training
    path = records.path if "://" in records.path else str(Path(records.path).resolve())
    records = records.model_copy(
        update={"path": path, "key_file": records.key_file or str(run_dir / "pseudonym.key")}
    )
    uri = release.tracking_uri or os.environ.get(
        "MLFLOW_TRACKING_URI", f"sqlite:///{run_dir / 'mlflow.db'}"
    )
    # One seal key per store, so that its ledger verifies across runs: beside a SQLite store,
    # else in the run directory (set release.seal_key_file for a server).
    home = Path(uri.removeprefix("sqlite:///")).parent if uri.startswith("sqlite:///") else run_dir
    release = release.model_copy(
        update={
            "tracking_uri": uri,
            "seal_key_file": release.seal_key_file or str(home / "seal.key"),
        }
    )
    training = training.model_copy(
        update={"checkpoint_dir": training.checkpoint_dir or str(run_dir / TRAIN_STATE_DIR)}
    )  # what `--resume` continues from
    return params.model_copy(update={"records": records, "release": release, "training": training})


def run_local(params: RunParams, run_dir: Path) -> dict[str, Any]:
    """Run the pipeline in `run_dir` with SubprocessRunner(use_venv=False); the gate decision."""
    params = with_local_defaults(params, run_dir)
    save_params(run_dir, params)
    return _run_in(run_dir, params)


def resume_local(run_dir: Path) -> dict[str, Any]:
    """Run a killed or failed run again in its own directory, with its saved parameters: the
    stages that finished come from the run's cache, training continues from its saved state
    (same key, same accountant), registration is not repeated."""
    previous = check_resumable(run_dir)
    write_state(run_dir, previous.state, attempts=previous.attempts + 1, stage=previous.stage)
    return _run_in(run_dir, load_saved_params(run_dir))


def _run_in(run_dir: Path, params: RunParams) -> dict[str, Any]:
    from kfp import local

    from strongroom.offline import enforce_airgap
    from strongroom.pipelines.train_and_gate import build_pipeline
    from strongroom.tracking.registry import prepare_store

    # The local runner warns that the Kubeflow image is not used: expected, it runs in this venv.
    warnings.filterwarnings("ignore", message="You may be attemping", category=RuntimeWarning)
    enforce_airgap()  # this process and, through the environment, every component subprocess
    os.environ[DIE_WITH_PARENT_ENV] = "1"  # the tasks end with this process (lifetime.py)
    write_state(run_dir, "running", pid=os.getpid(), pid_started=process_started(os.getpid()))
    try:
        prepare_store(params.release.tracking_uri)  # before any task: runs may share one store
    except Exception as error:
        write_state(run_dir, "failed", stage="prepare-store", reason=type(error).__name__)
        raise
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(run_dir / PIPELINE_ROOT),
        raise_on_error=True,
        enable_caching=True,  # in this run's own cache: what --resume reuses
        cache_root=str(run_dir / PIPELINE_ROOT / ".kfp_cache"),
    )
    try:
        task = build_pipeline(resumable=True)(**params.groups())
    except RuntimeError as error:  # the runner's summary of a failed task
        stage = unfinished_stage(run_dir)
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # drop terminal colours
        write_state(run_dir, "failed", stage=stage, reason=message)
        raise StrongroomError(
            f"failed at stage {stage or 'unknown'}: {message} (the task's log above says why; "
            f"resume with: strongroom run --resume {run_dir})"
        ) from None
    except BaseException:  # interrupted (Ctrl-C): resumable like a kill
        write_state(run_dir, "failed", stage=unfinished_stage(run_dir), reason="interrupted")
        raise
    decision = json.loads(Path(task.output.path).read_text())
    decision["tracking_uri"] = params.release.tracking_uri
    (run_dir / "gate_decision.json").write_text(json.dumps(decision, indent=2))
    write_state(run_dir, "succeeded")
    return decision


def summarize(decision: dict[str, Any], run_dir: Path) -> str:
    """The lines a user reads at the end of a run, from the registry's record of it."""
    uri = decision["tracking_uri"]
    alias = _alias_of(uri, decision["model_name"], decision["version"])
    lines = [f"run directory  {run_dir}"]
    if decision.get("facts"):  # what the gate read from the sealed record, not the tags
        lines += _fact_lines(Facts.from_flat(decision["facts"]))
    lines.append(f"gate {decision['policy']:<9} {'PASSED' if decision['passed'] else 'FAILED'}")
    for rule in decision["rules"]:
        lines.append(f"  [{'pass' if rule['passed'] else 'FAIL'}] {rule['id']}: {rule['reason']}")
    promoted = f" (alias {alias})" if alias else " (not promoted)"
    lines.append(f"model          {decision['model_uri']}{promoted}")
    if uri.startswith("sqlite:///"):
        artifacts = Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts"
        lines.append(
            f"MLflow UI      mlflow ui --backend-store-uri {uri} --default-artifact-root {artifacts}"
        )
    else:
        lines.append(f"MLflow         {uri}")
    return "\n".join(lines)


def _fact_lines(facts: Facts) -> list[str]:
    p = facts.privacy
    randomness = "secure randomness" if p.secure_rng else "SEEDED: not a DP release"
    return [
        f"records        {facts.validation.rows_in:,} rows in, "
        f"{facts.validation.rows_quarantined:,} quarantined",
        f"identifiers    {facts.deid.identifiers_removed:,} removed, "
        f"{facts.deid.residual_identifiers} residual",
        f"privacy        epsilon {p.epsilon:.4f} spent of {p.target_epsilon:g} (PRV "
        f"{p.epsilon_prv:.3f}, PLD {p.epsilon_pld:.3f}), delta {p.delta:g}, per {p.unit_name}, "
        f"{randomness}",
        f"               sigma {p.noise_multiplier:.3f}, sampling rate {p.sampling_rate:.4f}, "
        f"{p.steps} steps, clip norm {p.max_grad_norm:g}, {p.units:,} {p.unit_name}s",
        f"held-out       loss {facts.eval.loss:.3f}, perplexity {facts.eval.perplexity:.2f} "
        f"({facts.eval.units} {p.unit_name}s never trained on; outside the guarantee)",
        _records_line(facts),
        _start_line(facts),
        f"ledger         cumulative epsilon {facts.ledger.cumulative_epsilon:.4f} over "
        f"{facts.ledger.runs} run(s) on these records",
        _reference_line(facts),
        _audit_line(facts),
    ]


def _records_line(facts: Facts) -> str:
    """Whether the model writes records of the contract (synthesis/format_check.py)."""
    e, r = facts.eval, facts.reference
    if e.records_parsed_share is None or e.records_valid_share is None:
        return "records        not checked (a corpus written before its contract was kept)"
    line = (
        f"records        of what the model writes unguided, {e.records_parsed_share:.0%} parse "
        f"into the contract's columns, {e.records_valid_share:.0%} also pass its expectations"
    )
    if r.records_parsed_share is not None and r.records_valid_share is not None:
        line += (
            f" (non-private reference: {r.records_parsed_share:.0%}, {r.records_valid_share:.0%})"
        )
    return line


def _start_line(facts: Facts) -> str:
    """Where training started (the card's "Starting weights")."""
    i = facts.init
    if i.model is None:
        return "start          random initialisation (--init-from: a public model)"
    return (
        f"start          public model {i.model}/{i.version} (corpus {i.corpus}, public text "
        "only, no private data: no privacy cost)"
    )


def _reference_line(facts: Facts) -> str:
    """What privacy cost, against the same plan trained without privacy (outside the guarantee)."""
    r, e = facts.reference, facts.eval
    if r.loss is None:
        return "reference      none trained (--reference: the same plan without privacy)"
    return (
        f"reference      non-private same plan: held-out loss {r.loss:.2f} (perplexity "
        f"{r.perplexity:.2f}) vs DP {e.loss:.2f} ({e.perplexity:.2f}): privacy costs x"
        f"{r.loss_ratio:.2f} in loss (reference not DP, rounded, never released)"
    )


def _audit_line(facts: Facts) -> str:
    """The audit's evidence in one line (its full account: `strongroom audit MODEL/VERSION`)."""
    a, p = facts.audit, facts.privacy
    if a.epsilon_lower_bound is None or a.confidence is None:
        return "audit          no canaries planted: no empirical lower bound"
    verdict = "within" if a.epsilon_lower_bound <= p.epsilon else "ABOVE"

    def num(value: float | None, spec: str) -> str:
        return "n/a" if value is None else format(value, spec)

    return (
        f"audit          empirical epsilon >= {a.epsilon_lower_bound:.3f} at {a.confidence:.0%} "
        f"({verdict} the claimed {p.epsilon:.3f}; {a.canaries} canaries), membership AUC "
        f"{num(a.mia_auc, '.3f')} ({num(a.mia_auc_low, '.3f')} to {num(a.mia_auc_high, '.3f')}), "
        f"canary exposure {num(a.exposure_included, '.2f')} bits vs "
        f"{num(a.exposure_excluded, '.2f')} unseen"
    )


def _alias_of(uri: str, model_name: str, version: str) -> str:
    from strongroom.tracking.registry import store_client

    return ",".join(store_client(uri).get_model_version(model_name, version).aliases)
