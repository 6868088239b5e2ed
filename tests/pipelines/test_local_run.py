"""The whole pipeline through the kfp local runner on a tiny dataset (about a minute on 2 cores)."""

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from strongroom.demo.hospital import generate_encounters
from strongroom.errors import GateError
from strongroom.local_run import run_local, summarize
from strongroom.release import gate_version, promote
from strongroom.run_record.params import RunParams
from strongroom.tracking.registry import store_client


def marker(column: str) -> str:
    """A value found nowhere else, one per column."""
    return f"Zqx{column.replace('_', '')}mark"


FREE_FORM = ("name", "phone", "medication", "note")  # a marker there passes validation


def plant_markers(frame: pd.DataFrame) -> pd.DataFrame:
    """Row 0: every column's marker (fails validation: GX would echo them back by default).
    Row 1: markers in the free-form columns (valid: they go on to de-identification)."""
    frame = frame.copy()
    for column in frame.columns:
        frame.loc[0, column] = marker(column)
    for column in FREE_FORM:
        frame.loc[1, column] = f"{marker(column)} Smith" if column == "name" else marker(column)
    return frame


@contextmanager
def captured_fds(path: Path) -> Iterator[Path]:
    """stdout and stderr of this process and its children (the components) into `path`."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved, streams = [os.dup(1), os.dup(2)], (sys.stdout, sys.stderr)
    with open(path, "w", buffering=1) as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        sys.stdout = sys.stderr = sink  # pytest's capture holds its own stream objects
        try:
            yield path
        finally:
            sys.stdout, sys.stderr = streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    frame = generate_encounters(40, seed=3).astype(object)
    records = run_dir / "input" / "records.csv"
    records.parent.mkdir()
    plant_markers(frame).to_csv(records, index=False)
    params = RunParams(
        records={"path": str(records), "max_seq_len": 256, "eval_fraction": 0.2,
                 "deid_shards": 2, "canaries": 16},  # a few: the audit step runs, quickly
        privacy={"target_epsilon": 6.0, "delta": 1e-5, "batch_size": 8, "epochs": 1.0},
        training={"model_preset": "tiny", "reference": True},  # no seed: secure randomness
    )  # fmt: skip
    root_logger, level = logging.getLogger(), logging.getLogger().level
    handler = logging.FileHandler(run_dir / "input" / "python.log")
    root_logger.addHandler(handler)
    root_logger.setLevel(logging.DEBUG)  # every record any library logs in this process
    try:
        with captured_fds(run_dir / "input" / "console.log"):
            decision = run_local(params, run_dir)
            print(summarize(decision, run_dir))
    finally:
        root_logger.setLevel(level)
        root_logger.removeHandler(handler)
        handler.close()
    return decision, run_dir


def _leaks(path: Path, markers: list[str]) -> list[str]:
    text = path.read_bytes().lower()
    return [m for m in markers if m.lower().encode() in text]


def test_no_marker_reaches_a_report_log_or_mlflow_record(pipeline_run):
    """Every file the run wrote (reports, KFP metadata, MLflow's database and artifacts, the
    model card, the console and Python logs) except the record data files themselves."""
    _, run_dir = pipeline_run
    markers = [marker(c) for c in generate_encounters(1).columns]
    data_files = {".parquet", ".npy", ".csv"}  # records, quarantine, corpus: data, not reports
    scanned, leaks = 0, {}
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        if path.suffix in data_files:
            continue
        scanned += 1
        if found := _leaks(path, markers):
            leaks[str(path.relative_to(run_dir))] = found
    assert not leaks
    assert scanned > 20 and (run_dir / "mlflow.db").exists()
    assert (run_dir / "input" / "console.log").stat().st_size > 10_000  # the components' logs
    assert (run_dir / "input" / "python.log").stat().st_size > 0
    # ... and the markers were really there: quarantined, with the reasons named
    quarantine = next(run_dir.rglob("quarantine.parquet"))
    assert _leaks(quarantine, markers[:3]) and b"pattern(patient_id)" in quarantine.read_bytes()


def test_pipeline_registers_a_gated_version_with_alias_staging(pipeline_run):
    decision, run_dir = pipeline_run
    assert decision["passed"], decision
    client = store_client(decision["tracking_uri"])
    mv = client.get_model_version(decision["model_name"], decision["version"])
    assert "staging" in mv.aliases
    assert json.loads(mv.tags["privacy.epsilon"]) <= 6.0
    assert json.loads(mv.tags["privacy.delta"]) == 1e-5
    assert mv.tags["privacy.unit_name"] == "patient"
    assert mv.tags["privacy.secure_rng"] == "true"  # the default registers a DP release
    assert mv.tags["gate.hipaa"] == "passed"
    assert "Privacy guarantee" in mv.description
    assert (run_dir / "mlflow.db").exists()


def test_summary_reports_counts_privacy_and_gate(pipeline_run):
    decision, run_dir = pipeline_run
    text = summarize(decision, run_dir)
    for needle in ("rows in", "quarantined", "identifiers", "epsilon", "delta", "held-out",
                   "secure randomness", "empirical epsilon >=", "membership AUC",
                   "PASSED", "alias staging", "mlflow ui --backend-store-uri"):  # fmt: skip
        assert needle in text


def test_the_reference_reaches_the_sealed_record_the_card_and_the_summary(pipeline_run):
    """Trained in its own task on the same plan; its figures (rounded) and the DP / reference
    ratio are in the run record the gate read, the version's tags, its card and the summary."""
    decision, run_dir = pipeline_run
    facts = decision["facts"]  # from the sealed run record, not the tags
    (path,) = run_dir.rglob("reference_report.json")
    report = json.loads(path.read_text())
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # its weights were not kept
    assert report["trained"] and report["steps"] == facts["privacy.steps"]
    assert report["batch_size"] == 8  # the plan's expected batch
    assert facts["reference.loss"] == round(report["loss"], 2)
    assert facts["reference.loss_ratio"] == round(facts["eval.loss"] / report["loss"], 2)
    assert facts["reference.perplexity"] > 1
    mv = store_client(decision["tracking_uri"]).get_model_version(
        decision["model_name"], decision["version"]
    )
    assert json.loads(mv.tags["reference.loss_ratio"]) == facts["reference.loss_ratio"]
    card = mv.description
    assert "## What privacy cost (outside the guarantee, not DP)" in card
    assert f"**{facts['reference.loss_ratio']:.6g}**" in card
    assert f"| {facts['eval.loss']:.2f} | {facts['reference.loss']:.2f} |" in card
    text = summarize(decision, run_dir)
    assert f"privacy costs x{facts['reference.loss_ratio']:.2f} in loss" in text


def test_a_failing_policy_leaves_the_version_unpromoted(pipeline_run, tmp_path):
    decision, run_dir = pipeline_run
    seal_key = str(run_dir / "seal.key.pub")  # the gate needs only the public key
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "name: strict\nrules:\n  - {id: tiny_epsilon, fact: privacy.epsilon, op: '<=', value: 0.1}\n"
    )
    uri, name, version = decision["tracking_uri"], decision["model_name"], decision["version"]
    result = gate_version(uri, name, version, str(strict), seal_key)
    assert not result["passed"] and result["rules"][1]["id"] == "tiny_epsilon"
    with pytest.raises(GateError, match="tiny_epsilon"):
        promote(uri, name, version, str(strict), seal_key)
    mv = store_client(uri).get_model_version(name, version)
    assert "production" not in mv.aliases
    lax = tmp_path / "hipaa.yaml"  # a laxer file under the organisation's policy name
    lax.write_text(
        "name: hipaa\nrules:\n  - {id: any_epsilon, fact: privacy.epsilon, op: '<=', value: 1000000000}\n"
    )
    assert gate_version(uri, name, version, str(lax), seal_key)["policy_source"] == "caller's file"


def test_deidentification_fanned_out_over_two_shards_keeps_one_pseudonym_per_person(pipeline_run):
    _, run_dir = pipeline_run
    merged = [p for p in run_dir.rglob("deidentify_report.json") if "merge-deid-op" in str(p)]
    report = json.loads(merged[0].read_text())
    assert report["shards"] == 2 and report["rows"] == 120  # 121 rows in, 1 quarantined
    frame = pd.read_parquet(merged[0].parent / "deidentified.parquet")
    units = frame.groupby("patient_id").size()
    assert len(units) == 40 and len(frame) == 120  # 40 patients: one pseudonym each across shards
