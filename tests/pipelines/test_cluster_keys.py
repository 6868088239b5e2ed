"""The pseudonymisation key on a cluster: supplied the way the Secret supplies it, never made in a
pod. Runs the real components through the kfp local runner with the environment the cluster
wiring gives each pod (STRONGROOM_NEVER_MAKE_KEYS=1, a mounted Secret file of mode 0644)."""

import secrets
from pathlib import Path

import pandas as pd
import pytest
from kfp import dsl, local
from kfp.dsl import Dataset
from strongroom.components.records import (
    deid_shards_op,
    deidentify_op,
    ingest_op,
    merge_deid_op,
    validate_op,
)

from strongroom.deid.deidentify import DEIDENTIFIED_FILE, KEY_ENV
from strongroom.demo.hospital import write_demo_records
from strongroom.keys import NEVER_MAKE_KEYS_ENV, SHARED_KEYS_ENV
from strongroom.records.validate import VALIDATED_FILE
from strongroom.run_record.params import RecordsParams

# the local runner notes that the Kubernetes image is not used: expected, it runs in this venv
pytestmark = pytest.mark.filterwarnings("ignore:You may be attemping:RuntimeWarning")


@dsl.pipeline(name="records-with-a-secret-key")
def records_pipeline(records: dict) -> Dataset:
    """The pipeline's record stages in its order: the key check first, two shards, the merge."""
    shards = deid_shards_op(records=records)
    ingested = ingest_op(records=records).after(shards)
    validated = validate_op(ingested=ingested.outputs["ingested"], records=records)
    with dsl.ParallelFor(shards.output) as shard:
        part = deidentify_op(validated=validated.outputs["validated"], records=records, shard=shard)
    return merge_deid_op(parts=dsl.Collected(part.outputs["deidentified"])).outputs["deidentified"]


@pytest.fixture
def pod_environment(monkeypatch, tmp_path) -> Path:
    """What a wired pod sees; the pipeline root of a local run."""
    monkeypatch.setenv(NEVER_MAKE_KEYS_ENV, "1")
    monkeypatch.setenv(SHARED_KEYS_ENV, "1")  # Secret volumes are mounted 0644
    monkeypatch.delenv(KEY_ENV, raising=False)
    root = tmp_path / "pipeline-root"
    local.init(
        runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=True
    )
    return root


def _records(tmp_path: Path, **params) -> dict:
    path = write_demo_records(tmp_path / "encounters.csv", 24, seed=5)
    return RecordsParams(path=str(path), deid_shards=2, **params).model_dump(exclude_none=True)


def test_two_shards_given_the_mounted_secret_give_a_person_one_pseudonym(pod_environment, tmp_path):
    mount = tmp_path / "var-run-secrets-strongroom"
    mount.mkdir()
    key_file = mount / "pseudonym.key"
    key_file.write_text(secrets.token_hex(32))
    key_file.chmod(0o644)  # as the kubelet mounts a Secret
    merged = records_pipeline(records=_records(tmp_path, key_file=str(key_file)))

    validated = pd.read_parquet(next(pod_environment.rglob(VALIDATED_FILE)))
    out = pd.read_parquet(Path(merged.output.path) / DEIDENTIFIED_FILE)
    # the merge concatenates shard 0 (rows 0, 2, ...) then shard 1 (rows 1, 3, ...)
    order = list(range(0, len(validated), 2)) + list(range(1, len(validated), 2))
    pairs = pd.DataFrame(
        {
            "person": validated["patient_id"].iloc[order].to_numpy(),
            "pseudonym": out["patient_id"].to_numpy(),
            "shard": [i % 2 for i in order],
        }
    )
    across = pairs.groupby("person")["shard"].nunique()
    assert (across == 2).sum() >= 5  # people with rows in both shards: the case that matters
    assert (pairs.groupby("person")["pseudonym"].nunique() == 1).all()
    assert pairs["pseudonym"].nunique() == pairs["person"].nunique()
    assert not set(pairs["person"]) & set(pairs["pseudonym"])
    assert sorted(p.name for p in mount.iterdir()) == ["pseudonym.key"]  # nothing else written


def test_without_the_secret_the_first_task_fails_clearly_and_no_key_is_made(
    pod_environment, tmp_path, capfd
):
    key_file = tmp_path / "var-run-secrets-strongroom" / "pseudonym.key"  # the Secret is missing
    with pytest.raises(RuntimeError, match="deid-shards-op"):
        records_pipeline(records=_records(tmp_path, key_file=str(key_file)))
    log = capfd.readouterr()
    assert "pseudonymisation key file not found, and keys are never made here" in log.out + log.err
    assert not key_file.exists() and not key_file.parent.exists()
    assert not list(pod_environment.rglob("ingest-op*"))  # no record was read
    assert not list(tmp_path.rglob("*.key"))
