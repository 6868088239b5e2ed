"""Against a real tracking server: PostgreSQL (Debian's packages) as MLflow's backend store,
`mlflow server` over HTTP with a local artifact root, four `strongroom run`s at once, the card in
the MLflow UI in headless Chromium, and an approved version answering through `strongroom serve`.

Takes about four minutes on 2 cores (the four runs share them). The screenshot of the card goes
to test-artifacts/ (or $STRONGROOM_TEST_ARTIFACTS).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml
from strongroom.governance.approval import make_approver_key

from strongroom.demo.hospital import write_demo_records
from strongroom.run_record.seal import load_signing_key
from strongroom.tracking.registry import store_client, version_facts
from tests.servers import free_port, mlflow_server, postgres, stop_group, wait_for_http

RUNS = 4
MODEL = "srv-hospital"
TRAINER, APPROVER = "pipeline-bot", "alice"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("STRONGROOM_TEST_ARTIFACTS", ROOT / "test-artifacts"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("server")
    with postgres() as database, mlflow_server(database, root / "artifacts", root / "log") as url:
        yield url, root


@pytest.fixture(scope="module")
def four_runs(server):
    """Four pipeline runs started together against the server, each on its own records, one
    organisation seal key; (url, seal public key file, [(run dir, exit code)])."""
    url, root = server
    key_file = root / "seal.key"
    load_signing_key(key_file, create=True)
    env = {**os.environ, "STRONGROOM_IDENTITY": TRAINER, "PYTHONPATH": str(ROOT)}
    runs = []
    for index in range(RUNS):
        folder = root / f"run{index}"
        records = write_demo_records(folder / "records.csv", 40 + 5 * index, seed=index)
        config = folder / "run.yaml"
        config.write_text(yaml.safe_dump({
            "records": {"path": str(records), "max_seq_len": 128, "canaries": 8},
            "privacy": {"target_epsilon": 8.0, "delta": 1e-5, "batch_size": 8, "epochs": 1.0},
            "training": {"model_preset": "tiny"},
            "release": {"tracking_uri": url, "model_name": MODEL, "seal_key_file": str(key_file)},
        }))  # fmt: skip
        runs.append((folder, subprocess.Popen(
            [sys.executable, "-m", "strongroom.cli", "run", str(config), "--workdir",
             str(folder / "runs")],
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )))  # fmt: skip
    results = [(folder, run.communicate(timeout=1200)[0], run.returncode) for folder, run in runs]
    return url, f"{key_file}.pub", results


def test_four_runs_at_once_register_four_versions_with_their_own_facts(four_runs):
    url, _, results = four_runs
    assert [code for _, _, code in results] == [0] * RUNS, [out[-2000:] for _, out, _ in results]
    client = store_client(url)
    versions = client.search_model_versions(f"name='{MODEL}'")
    assert sorted(int(v.version) for v in versions) == list(range(1, RUNS + 1))
    facts = [version_facts(url, MODEL, str(v.version)) for v in versions]
    assert len({f["data.sha256"] for f in facts}) == RUNS  # each version its own run's records
    assert sorted(f["validation.rows_in"] for f in facts) == sorted(
        len(pd.read_csv(folder / "records.csv")) for folder, _, _ in results
    )
    for v, f in zip(versions, facts, strict=True):
        assert f["gate.hipaa"] == "passed" and f["train.trained_by"] == TRAINER
        assert f["lineage.contract_sha256"] and f["lineage.code_version"].startswith("0.")
        run = client.get_run(v.run_id)
        (given,) = run.inputs.dataset_inputs  # the records: fingerprint and counts, no value
        assert given.dataset.digest == f["data.sha256"][:36]
        assert {t.key for t in given.tags} >= {"rows_in", "units_train", "mlflow.data.context"}
    assert client.get_registered_model(MODEL).description.startswith(f"{MODEL}: a small")


def test_the_card_reads_in_the_mlflow_ui(four_runs):
    """The version page in headless Debian Chromium shows the card's privacy section."""
    from playwright.sync_api import sync_playwright

    url, _, _ = four_runs
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "model-card-in-mlflow-ui.png"
    shot.unlink(missing_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",  # Debian's: never a downloaded browser
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2200})
            # The UI keeps polling, so the network is never idle: wait for the card itself.
            page.goto(f"{url}/#/models/{MODEL}/versions/1", wait_until="domcontentloaded",
                      timeout=180_000)  # fmt: skip
            page.get_by_text("Privacy guarantee").first.wait_for(timeout=180_000)
            page.get_by_text("In plain words.").first.wait_for(timeout=10_000)
            assert page.get_by_text("differential privacy").first.is_visible()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000


@pytest.fixture(scope="module")
def approved(four_runs, tmp_path_factory):
    """Version 1 approved by a second person through the CLI (which writes the manifest)."""
    from strongroom.cli import main

    url, public_key, _ = four_runs
    keys = tmp_path_factory.mktemp("approvers")
    trusted = keys / "trusted"
    trusted.mkdir()
    (trusted / f"{APPROVER}.pub").write_text(make_approver_key(keys / "alice.key").read_text())
    saved = os.environ.get("STRONGROOM_APPROVERS")
    os.environ["STRONGROOM_APPROVERS"] = str(trusted)
    try:
        code = main([
            "approve", f"{MODEL}/1", "--approver", APPROVER, "--key", str(keys / "alice.key"),
            "--seal-public-key", public_key, "--tracking-uri", url,
            "--manifest-dir", str(keys / "serving"), "--image", "registry.example/strongroom@sha256:" + "a" * 64,
        ])  # fmt: skip
        assert code == 0
        yield url, public_key, trusted, keys / "serving"
    finally:
        if saved is None:
            os.environ.pop("STRONGROOM_APPROVERS", None)
        else:
            os.environ["STRONGROOM_APPROVERS"] = saved


def _serve(url: str, public_key: str, trusted: Path, *extra: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "STRONGROOM_APPROVERS": str(trusted), "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "strongroom.cli", "serve", f"{MODEL}@production",
        "--seal-public-key", public_key, "--tracking-uri", url, "--port", str(port), *extra,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    return process, port


def test_an_approved_version_answers_through_strongroom_serve(approved):
    url, public_key, trusted, _ = approved
    server, port = _serve(url, public_key, trusted, "--version", "1")
    try:
        try:
            wait_for_http(f"http://127.0.0.1:{port}/ping", timeout=240, process=server)
        except RuntimeError as error:
            stop_group(server)
            pytest.fail(f"{error}: {server.stdout.read()[-3000:]}")
        body = {"inputs": ["age: 5"], "params": {"max_new_tokens": 6, "seed": 7}}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as answer:
            predictions = json.loads(answer.read())["predictions"]
        assert len(predictions) == 1 and isinstance(predictions[0], str)
    finally:
        stop_group(server)


def test_serve_refuses_an_alias_set_by_hand(approved):
    """`production` moved to version 2 in the MLflow UI's way (an alias write): nothing serves."""
    url, public_key, trusted, _ = approved
    client = store_client(url)
    client.set_registered_model_alias(MODEL, "production", "2")
    try:
        server, _ = _serve(url, public_key, trusted)
        output, _ = server.communicate(timeout=240)
        assert server.returncode != 0
        assert "not serving" in output and "no approval" in output
    finally:
        client.set_registered_model_alias(MODEL, "production", "1")


def test_approve_writes_a_kserve_manifest_that_serves_only_through_verify(approved):
    from tests.k8s.kserve import validate_inference_service

    _, _, _, serving = approved
    (manifest_file,) = serving.glob("*.yaml")
    manifest = yaml.safe_load(manifest_file.read_text())
    assert validate_inference_service(manifest) == []
    (container,) = manifest["spec"]["predictor"]["containers"]
    assert container["command"] == ["strongroom"]
    assert container["args"][:4] == ["serve", f"{MODEL}@production", "--version", "1"]
    assert container["image"].startswith("registry.example/strongroom@sha256:")


def test_a_revoked_approval_stops_a_running_server(approved):
    """Last in this module (it revokes version 1): verify runs again while serving."""
    from strongroom.governance.approval import revoke

    url, public_key, trusted, _ = approved
    server, port = _serve(url, public_key, trusted, "--version", "1", "--recheck-every", "2")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/ping", timeout=240, process=server)
        revoke(url, MODEL, "1", by=APPROVER, reason="test")
        output, _ = server.communicate(timeout=120)
    finally:
        stop_group(server)
    assert server.returncode != 0
    assert "not serving" in output and "no alias 'production'" in output  # revoke removed it
