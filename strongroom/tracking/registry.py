"""MLflow: one run per training, a registered model version carrying the run's facts.

Every fact is a model-version tag (`privacy.epsilon`, `validation.success`, ...) for people and
tools to read; the sealed run record inside the model artifact (beside the weights) is what the
gate trusts, and a tag that differs from it fails the gate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from strongroom.run_record.evidence import tag_value
from strongroom.run_record.facts import Facts
from strongroom.tracking.card import render_card

EXPERIMENT = "strongroom"
_PARAM_PREFIXES = ("privacy.", "train.", "model.", "data.", "corpus.", "init.")  # not eval, ledger


@dataclass(frozen=True)
class Registered:
    model_name: str
    version: str
    run_id: str
    model_uri: str  # models:/NAME/VERSION


def prepare_store(tracking_uri: str) -> None:
    """The store's schema and strongroom's experiments (training runs, the privacy ledger), made
    once. Runs started together on one fresh SQLite store would each create the schema ("table
    ... already exists") or the experiment; a file lock beside the database serialises that. A
    server has no such lock: a run that loses the race finds the experiment the other made."""
    from mlflow.exceptions import MlflowException

    from strongroom.tracking.ledger import LEDGER_EXPERIMENT

    with store_lock(tracking_uri):
        client = store_client(tracking_uri)
        for name in (EXPERIMENT, LEDGER_EXPERIMENT):
            if client.get_experiment_by_name(name) is not None:
                continue
            try:
                client.create_experiment(name, artifact_location=_artifact_location(tracking_uri))
            except MlflowException:  # a server: another run created it between the two calls
                if client.get_experiment_by_name(name) is None:
                    raise


_held_locks: dict[Path, int] = {}  # store locks this process holds, by database: re-entrant


@contextmanager
def store_lock(tracking_uri: str) -> Iterator[None]:
    """One process at a time in a SQLite store's critical sections (schema creation, a
    registration's ledger read and entry). A server's store is not locked here: there the gate's
    recomputation from the live ledger (release.checked_facts) is what keeps it honest."""
    if not tracking_uri.startswith("sqlite:///"):  # a server serialises its own schema changes
        yield
        return
    import fcntl

    db_path = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
    if _held_locks.get(db_path):  # re-entered in this process (registration prepares the store)
        _held_locks[db_path] += 1
        try:
            yield
        finally:
            _held_locks[db_path] -= 1
        return
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with open(db_path.with_name(db_path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _held_locks[db_path] = 1
        try:
            yield
        finally:
            del _held_locks[db_path]
            fcntl.flock(lock, fcntl.LOCK_UN)


def _artifact_location(tracking_uri: str) -> str | None:
    """A SQLite store keeps its artifacts beside it (not in ./mlruns of whatever folder)."""
    if urlparse(tracking_uri).scheme != "sqlite":
        return None
    db_path = Path(tracking_uri.removeprefix("sqlite:///"))
    return (db_path.parent / "mlartifacts").resolve().as_uri()


def use_store(tracking_uri: str) -> None:
    """Point this process's MLflow (tracking and registry) at `tracking_uri`, prepared. MLflow
    also writes the URI into the environment for child processes; that is undone, so a run
    started later in this process (a test, a notebook) does not silently use this store."""
    import os

    import mlflow

    saved = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    prepare_store(tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    mlflow.set_experiment(EXPERIMENT)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _log_artifacts(reports: dict[str, Path], card: str, facts: dict[str, Any]) -> None:
    """Reports (counts only), the card and the facts as files of the run."""
    import mlflow

    for path in reports.values():
        if path.exists():
            mlflow.log_artifact(str(path), artifact_path="reports")
    mlflow.log_text(card, "model_card.md")
    mlflow.log_dict(facts, "model_card.json")


def _log_series(series: dict[str, list[tuple[int, float]]]) -> None:
    """Per-step metrics in one batch call (thousands of steps: one request, not thousands)."""
    import time

    import mlflow
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, step) for k, points in series.items() for step, v in points]
    client, run_id = mlflow.MlflowClient(), mlflow.active_run().info.run_id
    for start in range(0, len(metrics), 1000):  # MLflow's per-request limit
        client.log_batch(run_id, metrics=metrics[start : start + 1000])


def _lineage_tags(facts: Facts) -> dict[str, str]:
    """The run's lineage as tags (MLflow's own git tag included, for its UI)."""
    lineage = {f"lineage.{k}": v for k, v in facts.lineage.model_dump().items() if v}
    tags = {**lineage, "data.sha256": facts.data.sha256, "data.contract": facts.data.contract}
    commit = (facts.lineage.code_version or "").partition("+")[2]
    if commit:
        tags["mlflow.source.git.commit"] = commit.removesuffix("-dirty")
    return tags


def _log_records_input(facts: Facts) -> None:
    """The records as the run's dataset input: the contract, the fingerprint and counts, never
    a value or a path."""
    import mlflow
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.meta_dataset import MetaDataset

    source = CodeDatasetSource({"contract": facts.data.contract, "sha256": facts.data.sha256})
    dataset = MetaDataset(source, name=facts.data.contract, digest=facts.data.sha256[:36])
    counts = {
        "rows_in": facts.validation.rows_in,
        "rows_quarantined": facts.validation.rows_quarantined,
        "units_train": facts.corpus.units_train,
        "units_held_out": facts.eval.units,
    }
    mlflow.log_input(dataset, context="training", tags={k: str(v) for k, v in counts.items()})


def model_description(model_name: str, facts: Facts) -> str:
    """What the registered model is for (its versions' cards say how each was made)."""
    p = facts.privacy
    return (
        f"{model_name}: a small Gemma-style language model of de-identified "
        f"`{facts.data.contract}` records, trained with differential privacy per {p.unit_name} "
        "(each version's card states its guarantee). For generating synthetic records and "
        "text in the records' format; not for decisions about any person. A version is "
        "served only after it passes the organisation's gate and a second person approves "
        "it (`strongroom approve`); `strongroom verify MODEL@production` checks both."
    )


SealRecord = Callable[
    [str, dict[str, str], str, str], dict[str, Any]
]  # version, files, weights, card


def register_model(
    *,
    tracking_uri: str,
    model_name: str,
    checkpoint: Path,
    facts: Facts,
    seal_record: SealRecord,
    step_metrics: dict[str, list[tuple[int, float]]],
    reports: dict[str, Path],
) -> Registered:
    """Log params, metrics, reports, the pyfunc model and card; register a new version tagged
    with every fact; then seal the run record over the version's artifact files
    (`seal_record(version, {path: sha256}, weights path, card)`) and log it to the run."""
    import tempfile

    import mlflow

    from strongroom.run_record.evidence import RECORD_FILE, artifact_digests
    from strongroom.tracking.pyfunc import DecoderModel
    from strongroom.tracking.serving import serving_code, serving_requirements, serving_signature

    use_store(tracking_uri)
    flat = facts.flat()
    card = render_card(model_name, facts)
    client = mlflow.MlflowClient()
    with mlflow.start_run(run_name=f"{model_name}-train") as run:
        mlflow.set_tags(_lineage_tags(facts))
        _log_records_input(facts)
        mlflow.log_params({k: v for k, v in flat.items() if k.startswith(_PARAM_PREFIXES)})
        _log_series(step_metrics)
        mlflow.log_metrics(
            {k: float(v) for k, v in flat.items() if k.startswith(("eval.", "privacy.epsilon"))}
        )
        _log_artifacts(reports, card, flat)
        with tempfile.TemporaryDirectory() as code:
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=DecoderModel(),
                artifacts={"checkpoint": str(checkpoint)},
                code_paths=[str(serving_code(Path(code)))],
                signature=serving_signature(),
                input_example=(
                    ["age: 67; admit_date: 2024; diagnosis_code:"],
                    {"max_new_tokens": 8},
                ),
                pip_requirements=serving_requirements(),
                registered_model_name=model_name,
            )
        version = str(info.registered_model_version)
        with tempfile.TemporaryDirectory() as scratch:
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=client.get_model_version_download_uri(model_name, version),
                    dst_path=scratch,
                    tracking_uri=tracking_uri,
                )
            )
            files = artifact_digests(local)
        weights = next(name for name in files if name.endswith(f"artifacts/{checkpoint.name}"))
        record = seal_record(version, files, weights, card)
        mlflow.log_text(json.dumps(record, indent=2, sort_keys=True), RECORD_FILE)
    for key, value in flat.items():  # strings as they are (readable in the UI), the rest as JSON
        client.set_model_version_tag(model_name, version, key, tag_value(value))
    client.update_model_version(model_name, version, description=card)
    client.update_registered_model(model_name, description=model_description(model_name, facts))
    return Registered(model_name, version, run.info.run_id, f"models:/{model_name}/{version}")


def store_client(tracking_uri: str) -> Any:
    """A client on `tracking_uri` that leaves MLflow's process-wide URI (and the
    MLFLOW_TRACKING_URI variable, which mlflow.set_tracking_uri writes) alone."""
    import mlflow

    return mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def version_facts(tracking_uri: str, model_name: str, version: str) -> dict[str, Any]:
    """The facts recorded on a registered version (tags decoded from JSON)."""
    mv = store_client(tracking_uri).get_model_version(model_name, version)
    facts = {}
    for key, raw in mv.tags.items():
        try:
            facts[key] = json.loads(raw)
        except json.JSONDecodeError:
            facts[key] = raw
    return facts
