import json

import pandas as pd
import pytest

from strongroom.errors import ValidationFailed
from strongroom.records.ingest import ingest
from strongroom.records.validate import validate
from tests.conftest import write_csv


def _run(frame, contract, tmp_path, **changes):
    contract = contract.model_copy(update=changes)
    ingest(write_csv(frame, tmp_path / "in.csv"), contract, tmp_path / "ingest")
    return validate(tmp_path / "ingest" / "records.parquet", contract, tmp_path / "out")


def test_clean_records_pass(demo_frame, contract, tmp_path):
    result = _run(demo_frame, contract, tmp_path)
    assert result.success and result.rows_quarantined == 0 and result.rows_ok == len(demo_frame)


def test_reports_hold_no_raw_values(demo_frame, contract, tmp_path):
    marker = "ZQXMARKER"
    frame = demo_frame.copy()
    frame.loc[0, "sex"] = marker  # a failing value GX would echo back by default
    frame.loc[1, "diagnosis_code"] = marker
    _run(frame, contract, tmp_path, max_quarantine_fraction=0.5)
    for name in ("validation_report.json", "validation_report.html"):
        assert marker not in (tmp_path / "out" / name).read_text()
    report = json.loads((tmp_path / "out" / "validation_report.json").read_text())
    assert report["rows_quarantined"] == 2


def test_shared_key_count_matches_pandas_reference():
    import numpy as np

    from strongroom.records.validate import rows_sharing_a_key

    rng = np.random.default_rng(0)
    keys = rng.integers(0, 500, size=2000).astype(np.uint64)
    expected = int(pd.Series(keys).duplicated(keep=False).sum())
    assert rows_sharing_a_key(keys.copy()) == expected
    assert rows_sharing_a_key(np.arange(10, dtype=np.uint64)) == 0


def test_duplicate_keys_in_different_chunks_are_found(demo_frame, contract, tmp_path):
    frame = pd.concat([demo_frame, demo_frame.iloc[[0]]], ignore_index=True)  # first and last
    ingest(write_csv(frame, tmp_path / "in.csv"), contract, tmp_path / "ingest")
    with pytest.raises(ValidationFailed, match=r"unique_key\(encounter_id\): 2 rows"):
        validate(tmp_path / "ingest" / "records.parquet", contract, tmp_path / "out", chunk_rows=10)
