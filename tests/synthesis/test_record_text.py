"""Parsing is the inverse of the corpus' record-to-text format, on real de-identified records."""

from __future__ import annotations

from pathlib import Path

from strongroom.corpus.build import serialize_unit, text_columns
from strongroom.records.io import read_strings
from strongroom.synthesis.record_text import RecordParser


def test_every_demo_persons_text_parses_back_to_their_records(stage_dirs, contract) -> None:
    frame = read_strings(Path(stage_dirs["deid"]) / "deidentified.parquet")
    columns = text_columns(contract)
    parser = RecordParser(columns)
    persons = 0
    for _, rows in frame.groupby(contract.privacy_unit, sort=True):
        parsed = parser.parse(serialize_unit(rows, columns))
        assert parsed.failures == []
        assert parsed.records == rows[columns].to_dict("records")
        persons += 1
    assert persons >= 20
    assert frame["note"].str.contains("; ").any()  # free text with the separator inside it


def test_a_line_that_is_not_a_record_and_a_cut_record_fail_and_are_counted(contract) -> None:
    parser = RecordParser(text_columns(contract))
    text = "age: 40; sex: F\nnot a record\nsex: M; diagnosis_code: E1"
    parsed = parser.parse(text, complete=False)
    assert parsed.records == [dict.fromkeys(parser.columns) | {"sex": "F", "age": "40"}]
    assert parsed.failures == [
        "line does not start with a column name",
        "record cut at the model's context length",
    ]
    assert parsed.lines == 3


def test_a_column_name_out_of_order_stays_in_the_value_before_it(contract) -> None:
    parser = RecordParser(text_columns(contract))
    record = parser.parse_line("age: 40; sex: F; age: 41")
    assert isinstance(record, dict)
    assert record["age"] == "40" and record["sex"] == "F; age: 41"
