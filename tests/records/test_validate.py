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


def test_bad_rows_are_quarantined_with_reasons_and_counts_reconcile(demo_frame, contract, tmp_path):
    frame = demo_frame.copy()
    frame.loc[0, "age"] = "-4"
    frame.loc[1, "admit_date"] = "2021-02-30"
    frame.loc[2, "diagnosis_code"] = "not-a-code"
    frame.loc[3, "discharge_date"] = "2001-01-01"  # before admission
    frame.loc[4, "length_of_stay"] = "three"
    result = _run(frame, contract, tmp_path, max_quarantine_fraction=0.5)
    assert result.rows_quarantined == 5
    assert result.rows_in == result.rows_ok + result.rows_quarantined
    quarantine = pd.read_parquet(tmp_path / "out" / "quarantine.parquet")
    reasons = dict(zip(quarantine["__line__"], quarantine["__reasons__"], strict=True))
    assert "between(age)" in reasons["2"]
    assert "strftime_format(admit_date)" in reasons["3"]
    assert "regex(diagnosis_code)" in reasons["4"]
    assert "greater_than_b(discharge_date,admit_date)" in reasons["5"]
    assert "regex(length_of_stay)" in reasons["6"]


def test_too_much_quarantine_fails_the_step(demo_frame, contract, tmp_path):
    frame = demo_frame.copy()
    frame.loc[:9, "sex"] = "?"
    with pytest.raises(ValidationFailed, match="rows quarantined"):
        _run(frame, contract, tmp_path, max_quarantine_fraction=0.05)


def test_duplicate_keys_fail_at_table_level(demo_frame, contract, tmp_path):
    frame = pd.concat([demo_frame, demo_frame.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValidationFailed, match="be_unique"):
        _run(frame, contract, tmp_path)


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
