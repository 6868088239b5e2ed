import json

import pyarrow.parquet as pq
import pytest

from strongroom.errors import RecordError
from strongroom.records.ingest import ingest
from strongroom.records.io import sha256_file
from tests.conftest import write_csv


def test_csv_ingest_counts_and_fingerprint(demo_csv, demo_frame, contract, tmp_path):
    result = ingest(demo_csv, contract, tmp_path)
    assert result.rows_in == result.rows_out == len(demo_frame)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["source_sha256"] == sha256_file(demo_csv)
    table = pq.read_table(tmp_path / "records.parquet")
    assert table.column_names == list(contract.columns)
    assert table.column("age").type == "string"  # carried as text; validation types it


def test_parquet_input_is_read(demo_frame, contract, tmp_path):
    source = tmp_path / "in.parquet"
    demo_frame.assign(age=demo_frame["age"].astype(int)).to_parquet(source)
    result = ingest(source, contract, tmp_path / "out")
    assert result.rows_out == len(demo_frame)


def test_missing_and_extra_columns_name_the_file_and_columns(demo_frame, contract, tmp_path):
    source = write_csv(demo_frame.drop(columns=["ssn"]).assign(secret="x"), tmp_path / "a.csv")
    with pytest.raises(RecordError) as error:
        ingest(source, contract, tmp_path / "out")
    message = str(error.value)
    assert "a.csv" in message and "'ssn'" in message and "'secret'" in message


def test_ragged_rows_are_quarantined_with_their_line(demo_csv, contract, tmp_path):
    lines = demo_csv.read_text().splitlines()
    lines.insert(3, "P0000999,only,three")
    source = tmp_path / "ragged.csv"
    source.write_text("\n".join(lines) + "\n")
    result = ingest(source, contract, tmp_path / "out")
    assert result.rows_quarantined == 1
    assert result.rows_in == result.rows_out + 1
    quarantine = pq.read_table(tmp_path / "out" / "ingest_quarantine.parquet").to_pylist()
    assert quarantine[0]["line"] == 4 and quarantine[0]["reason"].startswith("ragged_row")


def test_wrong_encoding_and_empty_file_are_clear_errors(contract, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name\nJos\xe9\n".encode("latin-1"))
    with pytest.raises(RecordError, match=r"latin\.csv: not valid utf-8"):
        ingest(latin, contract, tmp_path / "o1")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(RecordError, match=r"empty\.csv: empty file"):
        ingest(empty, contract, tmp_path / "o2")
