"""`strongroom synthesize` on real registered versions (conftest `store`): refused without the
approval, and the records' metadata carries the version's sealed epsilon."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from strongroom.governance.approval import approve, make_approver_key, revoke

from strongroom.cli import main
from strongroom.errors import GateError
from strongroom.release import checked_facts
from strongroom.run_record.seal import load_verify_key
from strongroom.synthesis.decoding import Settings
from strongroom.synthesis.run import METADATA_KEY, Request, synthesize
from strongroom.tracking.registry import store_client


def test_synthesis_is_refused_without_an_approved_production_version(store, tmp_path, capsys):
    uri, public_key, _, _ = store
    out = tmp_path / "syn.parquet"
    with pytest.raises(GateError, match="does not verify, no synthesis"):
        synthesize(Request(uri, "m@production", 5, str(out), seal_public_key_file=public_key))
    code = main([
        "synthesize", "m@production", "--n", "5", "--out", str(out),
        "--seal-public-key", public_key, "--tracking-uri", uri,
    ])  # fmt: skip
    assert code != 0 and "no synthesis" in capsys.readouterr().err
    assert not out.exists()


def test_records_carry_the_versions_sealed_epsilon_and_the_report_is_logged(
    store, tmp_path, monkeypatch
):
    uri, public_key, versions, _ = store
    trusted = tmp_path / "approvers"
    trusted.mkdir()
    key = tmp_path / "alice.key"
    (trusted / "alice.pub").write_text(make_approver_key(key).read_text())
    monkeypatch.setenv("STRONGROOM_APPROVERS", str(trusted))
    version = versions["secure"]
    approve(
        uri, "m", version, approver="alice", approver_key_file=str(key), policy="hipaa",
        seal_public_key_file=public_key,
    )  # fmt: skip
    try:
        out = tmp_path / "syn.parquet"
        report = synthesize(
            Request(
                uri, "m@production", 3, str(out), seed=5, seal_public_key_file=public_key,
                settings=Settings(batch_size=32),
            )
        )  # fmt: skip
    finally:
        revoke(uri, "m", version, by="alice")
    facts, _ = checked_facts(uri, "m", version, load_verify_key(public_key))
    metadata = json.loads(pq.read_schema(out).metadata[METADATA_KEY])
    assert metadata["epsilon"] == facts.privacy.epsilon and metadata["delta"] == facts.privacy.delta
    assert metadata["version"] == version and metadata["privacy_unit"] == "person"
    assert json.loads((tmp_path / "syn.parquet.metadata.json").read_text()) == metadata
    assert pq.read_table(out).num_rows == report["written"] == 3
    assert report["records_valid"] >= 3
    assert report["records_generated"] == report["records_parsed"] + sum(
        report["parse_failures"].values()
    )
    client = store_client(uri)
    run_id = client.get_model_version("m", version).run_id
    logged = {a.path for a in client.list_artifacts(run_id, "synthesis")}
    assert logged == {"synthesis/syn.synthesis_report.json", "synthesis/syn.synthesis_report.txt"}
