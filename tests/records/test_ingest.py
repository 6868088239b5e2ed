import json

import pyarrow.parquet as pq
import pytest

from strongroom.errors import RecordError
from strongroom.records.ingest import ingest
from strongroom.records.io import sha256_file
from strongroom.records.readers import ReadOptions
from tests.conftest import write_csv


def test_csv_ingest_counts_and_fingerprint(demo_csv, demo_frame, contract, tmp_path):
    result = ingest(demo_csv, contract, tmp_path)
    assert result.rows_in == result.rows_out == len(demo_frame)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["source_sha256"] == sha256_file(demo_csv)
    table = pq.read_table(tmp_path / "records.parquet")
    assert table.column_names == [*contract.columns, "__source__", "__line__"]
    assert table.column("age").type == "string"  # carried as text; validation types it
    assert table.column("__line__").to_pylist()[:2] == [2, 3]  # the header is line 1


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


def test_chunks_bound_what_is_held_and_keep_every_row(demo_csv, demo_frame, contract, tmp_path):
    result = ingest(demo_csv, contract, tmp_path, options=ReadOptions(chunk_rows=7))
    table = pq.read_table(tmp_path / "records.parquet")
    assert result.rows_out == len(demo_frame) == table.num_rows
    assert table.column("encounter_id").to_pylist() == demo_frame["encounter_id"].tolist()
    assert (
        pq.ParquetFile(tmp_path / "records.parquet").metadata.num_row_groups >= len(demo_frame) // 7
    )


def test_folder_of_parts_is_read_in_name_order(demo_frame, contract, tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    demo_frame.iloc[40:].to_parquet(parts / "part-1.parquet")
    demo_frame.iloc[:40].to_parquet(parts / "part-0.parquet")
    result = ingest(parts, contract, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert result.rows_out == len(demo_frame)
    assert [p["rows_in"] for p in manifest["sources"]] == [40, len(demo_frame) - 40]
    ids = pq.read_table(tmp_path / "out" / "records.parquet").column("encounter_id").to_pylist()
    assert ids == demo_frame["encounter_id"].tolist()
