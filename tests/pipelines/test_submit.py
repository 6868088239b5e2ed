"""`strongroom submit` against a local server speaking enough of the KFP v2beta1 REST API to
record what a Kubeflow Pipelines API server would receive (the real one cannot run here)."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from strongroom.pipelines.cluster_settings import ClusterSettings

from strongroom.cli import main
from strongroom.errors import ConfigError
from strongroom.run_record.params import load_params
from strongroom.submit import for_cluster, kfp_cron

REPO = Path(__file__).resolve().parents[2]
TOKEN = "test-bearer-token-0123"
IMAGE = "registry.bank.internal/strongroom-cpu@sha256:" + "c" * 64


class FakeKfp(BaseHTTPRequestHandler):
    """Experiments (list by name, create), runs and recurring runs (create); every request kept."""

    requests: ClassVar[list[dict]] = []
    experiments: ClassVar[list[dict]] = []

    def _reply(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body: dict | None) -> dict:
        url = urlsplit(self.path)
        seen = {"method": self.command, "path": url.path, "query": parse_qs(url.query),
                "auth": self.headers.get("Authorization"), "body": body}  # fmt: skip
        self.requests.append(seen)
        return seen

    def do_GET(self) -> None:
        seen = self._record(None)
        if seen["auth"] == "Bearer expired":
            return self.send_error(401, "Unauthorized")
        if seen["path"] == "/apis/v2beta1/healthz":
            return self._reply({"multi_user": True})
        if seen["path"] == "/apis/v2beta1/experiments":
            name = json.loads(seen["query"]["filter"][0])["predicates"][0]["stringValue"]
            found = [e for e in self.experiments if e["display_name"] == name]
            return self._reply({"experiments": found, "total_size": len(found)})
        self.send_error(404)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        seen = self._record(body)
        if seen["path"] == "/apis/v2beta1/experiments":
            experiment = {**body, "experiment_id": f"exp-{len(self.experiments) + 1}"}
            self.experiments.append(experiment)
            return self._reply(experiment)
        if seen["path"] == "/apis/v2beta1/runs":
            return self._reply({**body, "run_id": "run-1", "state": "PENDING"})
        if seen["path"] == "/apis/v2beta1/recurringruns":
            return self._reply({**body, "recurring_run_id": "rr-1", "status": "ENABLED"})
        self.send_error(404)

    def log_message(self, *args: object) -> None:  # quiet test output
        pass


@pytest.fixture
def kfp_api() -> Iterator[tuple[str, type[FakeKfp]]]:
    FakeKfp.requests, FakeKfp.experiments = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeKfp)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", FakeKfp
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def token_file(tmp_path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


def _posts(api: type[FakeKfp], path: str) -> list[dict]:
    return [r for r in api.requests if r["method"] == "POST" and r["path"] == path]


def test_submit_sends_the_wired_spec_and_the_configs_parameters(kfp_api, token_file, capsys):
    host, api = kfp_api
    config = REPO / "configs" / "production.yaml"
    argv = ["submit", str(config), "--host", host, "--namespace", "records-team",
            "--experiment", "nightly", "--token-file", str(token_file), "--image", IMAGE]  # fmt: skip
    assert main(argv) == 0
    assert "submitted run run-1 (experiment exp-1)" in capsys.readouterr().out
    assert {r["auth"] for r in api.requests} == {f"Bearer {TOKEN}"}  # every request
    (experiment,) = _posts(api, "/apis/v2beta1/experiments")
    assert experiment["body"] == {"display_name": "nightly", "namespace": "records-team"}
    (run,) = _posts(api, "/apis/v2beta1/runs")
    body = run["body"]
    assert (
        body["experiment_id"] == "exp-1"
        and body["display_name"] == "strongroom-strongroom-hospital"
    )
    expected = load_params(config).groups()  # the same file `strongroom run` reads, whose
    expected["release"]["tracking_uri"] = ClusterSettings().tracking_uri  # paths fit the mounts
    assert body["runtime_config"]["parameters"] == expected
    assert body["runtime_config"]["pipeline_root"] == ClusterSettings().pipeline_root
    spec = body["pipeline_spec"]
    assert spec["pipeline_spec"]["pipelineInfo"]["name"] == "strongroom-train-and-gate"
    executors = spec["pipeline_spec"]["deploymentSpec"]["executors"]
    assert {e["container"]["image"] for e in executors.values()} == {IMAGE}
    assert set(
        spec["platform_spec"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    ) == set(executors)
    assert 'enableCache": true' not in json.dumps(spec) and '"enableCache": true' not in json.dumps(
        spec
    )


def test_a_schedule_makes_one_recurring_run_without_catch_up(kfp_api, token_file, tmp_path):
    host, api = kfp_api
    FakeKfp.experiments.append({"display_name": "strongroom", "experiment_id": "exp-9"})
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"records": {"path": "s3://records/extracts/"}}))
    argv = ["submit", str(config), "--host", host, "--schedule", "30 2 * * *",
            "--token-file", str(token_file)]  # fmt: skip
    assert main(argv) == 0
    assert not _posts(api, "/apis/v2beta1/experiments")  # found by name, not made again
    (recurring,) = _posts(api, "/apis/v2beta1/recurringruns")
    body = recurring["body"]
    assert body["trigger"]["cron_schedule"]["cron"] == "0 30 2 * * *"
    assert (body["no_catchup"] is True and body["max_concurrency"] == "1") or body[
        "max_concurrency"
    ] == 1
    assert body["experiment_id"] == "exp-9" and body["mode"] == "ENABLE"
    parameters = body["runtime_config"]["parameters"]
    settings = ClusterSettings()
    assert parameters["records"]["key_file"] == "/var/run/secrets/strongroom/pseudonym.key"
    assert parameters["release"]["seal_key_file"] == "/var/run/secrets/strongroom-seal/seal.key"
    assert parameters["release"]["seal_public_key_file"] == "/etc/strongroom/seal.key.pub"
    assert parameters["training"]["checkpoint_dir"] == "/mnt/strongroom-state/train"
    assert parameters["release"]["tracking_uri"] == settings.tracking_uri


def test_settings_a_pod_could_not_honour_are_refused_before_anything_is_sent(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({
        "records": {"path": "/home/me/extract.csv", "key_file": "/tmp/pseudonym.key"},
        "release": {"tracking_uri": "sqlite:///mlflow.db", "seal_key_file": "/keys/seal.key"},
        "training": {"checkpoint_dir": "/tmp/state"},
    }))  # fmt: skip
    with pytest.raises(ConfigError) as error:
        for_cluster(load_params(config), ClusterSettings())
    problems = error.value.problems
    assert len(problems) == 5
    for field in ("records.key_file", "release.seal_key_file", "training.checkpoint_dir",
                  "release.tracking_uri", "records.path"):  # fmt: skip
        assert any(p.startswith(field) for p in problems), field


def test_without_a_token_file_outside_a_pod_no_auth_header_is_sent(kfp_api, tmp_path, monkeypatch):
    from strongroom import submit

    host, api = kfp_api
    monkeypatch.setattr(submit, "SERVICE_ACCOUNT_TOKEN", tmp_path / "no-such-token")
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"records": {"path": "s3://records/x.csv"}}))
    assert main(["submit", str(config), "--host", host]) == 0
    assert {r["auth"] for r in api.requests} == {None}
    token = tmp_path / "sa-token"
    token.write_text("in-cluster-token")
    monkeypatch.setattr(submit, "SERVICE_ACCOUNT_TOKEN", token)  # as inside a pod
    assert main(["submit", str(config), "--host", host]) == 0
    assert api.requests[-1]["auth"] == "Bearer in-cluster-token"


def test_cron_expressions_get_kfps_seconds_field():
    assert kfp_cron("0 3 * * 1") == "0 0 3 * * 1"
    assert kfp_cron("15 0 3 * * 1") == "15 0 3 * * 1"
    with pytest.raises(Exception, match="5 or 6 fields"):
        kfp_cron("daily")


def test_a_refused_token_or_an_unreachable_api_is_a_message(kfp_api, tmp_path, capsys):
    host, _ = kfp_api
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"records": {"path": "s3://records/x.csv"}}))
    token = tmp_path / "token"
    token.write_text("expired")
    argv = ["submit", str(config), "--namespace", "ns", "--token-file", str(token)]
    assert main([*argv, "--host", host]) == 2
    assert "HTTP 401" in capsys.readouterr().err
    assert main([*argv, "--host", "http://127.0.0.1:9"]) == 2  # nothing listens there
    assert "KFP API at http://127.0.0.1:9: no answer" in capsys.readouterr().err
