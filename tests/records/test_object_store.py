"""Acceptance: records are read from a real S3-compatible server on localhost (moto's server mode).

Not a mock of the client: pyarrow's own S3 client (AWS SDK for C++, over HTTP) talks to a server
bound to 127.0.0.1, so URI parsing, endpoint options, credentials from the environment, listing a
folder of parts, streaming and gzip are all exercised as they would be against MinIO or S3.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pytest
from moto.server import ThreadedMotoServer

from strongroom import offline
from strongroom.errors import RecordError
from strongroom.records.contract import Contract
from strongroom.records.ingest import ingest
from strongroom.records.sources import check_airgap
from strongroom.records.validate import validate

BUCKET = "strongroom-records"
_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # never try the instance metadata endpoint
}


@pytest.fixture(scope="module")
def endpoint(demo_csv: Path, demo_frame: pd.DataFrame) -> Iterator[str]:
    """host:port of a moto S3 server holding the demo records as CSV, .csv.gz and Parquet parts."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in _ENV.items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            s3 = boto3.client("s3", endpoint_url=f"http://{host}:{port}")
            s3.create_bucket(Bucket=BUCKET)
            s3.put_object(Bucket=BUCKET, Key="raw/encounters.csv", Body=demo_csv.read_bytes())
            gz = gzip.compress(demo_csv.read_bytes())
            s3.put_object(Bucket=BUCKET, Key="raw/encounters.csv.gz", Body=gz)
            half = len(demo_frame) // 2
            for i, part in enumerate((demo_frame.iloc[:half], demo_frame.iloc[half:])):
                body = part.to_parquet(index=False)
                s3.put_object(Bucket=BUCKET, Key=f"parts/part-{i:04d}.parquet", Body=body)
            yield f"{host}:{port}"
        finally:
            server.stop()


def s3_uri(key: str, endpoint: str) -> str:
    return f"s3://{BUCKET}/{key}?endpoint_override={endpoint}&scheme=http"


def manifest(output_dir: Path) -> dict:
    return json.loads((output_dir / "manifest.json").read_text())


def test_csv_object_is_ingested_with_its_fingerprint(
    endpoint: str, contract: Contract, demo_csv: Path, demo_frame: pd.DataFrame, tmp_path: Path
) -> None:
    result = ingest(s3_uri("raw/encounters.csv", endpoint), contract, tmp_path)
    assert result.rows_in == result.rows_out == len(demo_frame)
    assert result.rows_quarantined == 0
    assert manifest(tmp_path)["source_sha256"] == hashlib.sha256(demo_csv.read_bytes()).hexdigest()
    # the ingested records pass validation like local ones
    checked = validate(tmp_path / "records.parquet", contract, tmp_path / "v")
    assert checked.success and checked.rows_quarantined == 0 and checked.rows_in == len(demo_frame)


@pytest.mark.parametrize("folder", ["parts/", "parts"])  # both spellings list the folder
def test_folder_of_parquet_parts_reads_every_part(
    endpoint: str, contract: Contract, demo_frame: pd.DataFrame, tmp_path: Path, folder: str
) -> None:
    result = ingest(s3_uri(folder, endpoint), contract, tmp_path)
    assert result.rows_out == len(demo_frame) and result.rows_quarantined == 0
    parts = manifest(tmp_path)["sources"]
    half = len(demo_frame) // 2
    assert [p["rows_in"] for p in parts] == [half, len(demo_frame) - half]
    assert all(p["format"] == "parquet" for p in parts)
    assert "part-0000.parquet" in parts[0]["source"] and "part-0001.parquet" in parts[1]["source"]


def test_gzipped_csv_object_is_decompressed(
    endpoint: str, contract: Contract, demo_frame: pd.DataFrame, tmp_path: Path
) -> None:
    result = ingest(s3_uri("raw/encounters.csv.gz", endpoint), contract, tmp_path)
    assert result.rows_out == len(demo_frame) and result.rows_quarantined == 0


def test_missing_key_names_the_uri(endpoint: str, contract: Contract, tmp_path: Path) -> None:
    uri = s3_uri("raw/absent.csv", endpoint)
    with pytest.raises(RecordError) as error:
        ingest(uri, contract, tmp_path)
    message = str(error.value)
    assert f"s3://{BUCKET}/raw/absent.csv: file not found" in message
    assert "endpoint_override" not in message  # options are noise in messages and reports


def test_endpoint_from_aws_endpoint_url(
    endpoint: str,
    contract: Contract,
    demo_frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{endpoint}")
    result = ingest(f"s3://{BUCKET}/raw/encounters.csv", contract, tmp_path)
    assert result.rows_out == len(demo_frame)


def test_localhost_store_is_readable_under_the_air_gap(
    endpoint: str,
    contract: Contract,
    demo_frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # enforce_airgap() patches socket.socket and sets STRONGROOM_AIRGAP: record both to undo them.
    monkeypatch.setattr(socket.socket, "connect", socket.socket.connect)
    monkeypatch.setattr(socket.socket, "connect_ex", socket.socket.connect_ex)
    monkeypatch.setenv(offline.AIRGAP_ENV, "0")
    offline.enforce_airgap()
    with socket.socket() as outside, pytest.raises(offline.OutboundConnectionBlocked):
        outside.connect(("192.0.2.1", 9))  # the guard is on (TEST-NET-1, never routed)
    result = ingest(s3_uri("raw/encounters.csv", endpoint), contract, tmp_path)
    assert result.rows_out == len(demo_frame)
    # Python's own sockets (boto3) reach the loopback server too
    s3 = boto3.client("s3", endpoint_url=f"http://{endpoint}")
    assert s3.head_object(Bucket=BUCKET, Key="raw/encounters.csv")["ContentLength"] > 0


@pytest.mark.parametrize(
    "uri",
    [
        f"s3://{BUCKET}/raw/encounters.csv",  # the public cloud endpoint
        f"s3://{BUCKET}/raw/encounters.csv?endpoint_override=192.0.2.1:9000&scheme=http",
        "gs://some-bucket/records.csv",
    ],
)
def test_air_gap_refuses_remote_stores_before_connecting(
    uri: str, contract: Contract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyarrow's clients connect from C++, out of the socket guard's reach: the URI is checked.
    monkeypatch.setenv(offline.AIRGAP_ENV, "1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with pytest.raises(RecordError, match="air gap: this object store would be reached at"):
        ingest(uri, contract, tmp_path)


def test_air_gap_allows_listed_in_network_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(offline.AIRGAP_ENV, "1")
    uri = f"s3://{BUCKET}/x.csv?endpoint_override=minio.records.internal:9000&scheme=http"
    with pytest.raises(RecordError, match=r"minio\.records\.internal"):
        check_airgap(uri)
    monkeypatch.setenv("STRONGROOM_ALLOWED_HOSTS", "minio.records.internal, other.internal")
    check_airgap(uri)  # listed: allowed (no connection is made here)
