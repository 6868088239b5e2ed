"""`strongroom demo --domain bank` end to end on a few customers (tiny model, about a minute)."""

import json

from strongroom.cli import main
from strongroom.tracking.registry import store_client


def test_bank_demo_runs_gates_and_promotes_in_a_short_terminal_output(tmp_path, capfd):
    argv = ["demo", "--domain", "bank", "--units", "100", "--preset", "tiny", "--epochs", "1"]
    assert main([*argv, "--workdir", str(tmp_path)]) == 0
    out, err = capfd.readouterr()
    summary = out
    lines = (out + err).replace("\r", "\n").splitlines()
    # 12 stages started and done, two progress bars (DP-SGD, the reference), the summary with
    # the gate's rules: about 60 lines; thousands would mean task logs leaked onto the terminal
    assert len([line for line in lines if line.strip()]) < 75, out[-3000:]
    assert "  train            done" in out and "  gate             done" in out
    assert "synthetic customers" in summary and "per customer" in summary
    assert "secure randomness" in summary
    assert "gate bank      PASSED" in summary, summary[-2000:]
    (run_dir,) = tmp_path.iterdir()
    assert (run_dir / "run.log").stat().st_size > 10_000  # the rest of the output, kept
    decision = json.loads((run_dir / "gate_decision.json").read_text())
    client = store_client(decision["tracking_uri"])
    version = client.get_model_version("strongroom-bank", decision["version"])
    assert "staging" in version.aliases
    assert version.tags["privacy.unit_name"] == "customer"
    assert version.tags["privacy.unit_kind"] == "person"
    assert version.tags["privacy.secure_rng"] == "true"  # the default registers a DP release
    assert json.loads(version.tags["deid.residual_identifiers"]) == 0
