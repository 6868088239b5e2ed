"""Malformed input: every case ends in a clear error naming the file (row, column) or a quarantine
with its reason, never a bare traceback and never a silent drop.

Ingest-level cases run one file each (fast); value-level cases corrupt one row each of one file
and validate it once, so that Great Expectations runs once per domain.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from strongroom.demo.bank import generate_transactions
from strongroom.errors import RecordError, ValidationFailed
from strongroom.records.contract import Contract, load_contract
from strongroom.records.ingest import ingest
from strongroom.records.readers import ReadOptions
from strongroom.records.validate import validate

Build = Callable[[pd.DataFrame, Path], Path]


def _csv(frame: pd.DataFrame, path: Path, **kwargs: object) -> Path:
    frame.to_csv(path, index=False, **kwargs)
    return path


def _lines(frame: pd.DataFrame) -> list[str]:
    return frame.to_csv(index=False).splitlines()


def _text(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _parquet(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_parquet(path, index=False)
    return path


def _jsonl(records: list[object], path: Path) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return json.loads(frame.to_json(orient="records"))


def _parts(frame: pd.DataFrame, folder: Path, second: pd.DataFrame) -> Path:
    folder.mkdir()
    _parquet(frame, folder / "part-0.parquet")
    _parquet(second, folder / "part-1.parquet")
    return folder


def _latin1(f: pd.DataFrame, d: Path) -> Path:
    lines = _lines(f.assign(name=f["name"].where(f.index != 2, "José Núñez")))
    return _text(d / "latin1.csv", lines, "latin-1")


def _truncated_parquet(f: pd.DataFrame, d: Path) -> Path:
    whole = _parquet(f, d / "whole.parquet").read_bytes()
    (d / "cut.parquet").write_bytes(whole[: len(whole) // 2])
    return d / "cut.parquet"


def _nested_parquet(f: pd.DataFrame, d: Path) -> Path:
    table = pa.Table.from_pandas(f.drop(columns=["medication"]), preserve_index=False)
    nested = pa.array([["a", "b"]] * len(f), pa.list_(pa.string()))
    pq.write_table(table.append_column("medication", nested), d / "nested.parquet")
    return d / "nested.parquet"


def _invalid_utf8_parquet(f: pd.DataFrame, d: Path) -> Path:
    table = pa.Table.from_pandas(f.drop(columns=["note"]), preserve_index=False)
    raw = pa.array([b"\xff\xfe broken"] * len(f), pa.binary())
    pq.write_table(table.append_column("note", raw), d / "binary.parquet")
    return d / "binary.parquet"


def _truncated_gzip(f: pd.DataFrame, d: Path) -> Path:
    whole = gzip.compress(f.to_csv(index=False).encode())
    (d / "cut.csv.gz").write_bytes(whole[: len(whole) // 2])
    return d / "cut.csv.gz"


# (case id, build, pattern the message must match: the file name, and row / column where known)
ERRORS: list[tuple[str, Build, str]] = [
    ("wrong_encoding", _latin1, r"latin1\.csv, row 4, column 'name': not valid text"),
    ("empty_file", lambda f, d: _bytes(d / "empty.csv", b""), r"empty\.csv: empty file"),
    ("header_only", lambda f, d: _text(d / "h.csv", _lines(f)[:1]), r"h\.csv: no data rows"),
    ("missing_column", lambda f, d: _csv(f.drop(columns="ssn"), d / "m.csv"), r"m\.csv: missing column\(s\) \['ssn'\]"),
    ("extra_column", lambda f, d: _csv(f.assign(secret="x"), d / "x.csv"), r"x\.csv: column\(s\) not in contract .*\['secret'\]"),
    ("duplicate_column", lambda f, d: _text(d / "dup.csv", [_lines(f)[0] + ",SSN"]), r"dup\.csv: .*more than once .*\['ssn'\]"),
    ("unknown_file_type", lambda f, d: _csv(f, d / "records.xlsx"), r"records\.xlsx: unknown file type"),
    ("file_not_found", lambda f, d: d / "nowhere.csv", r"nowhere\.csv: file not found"),
    ("truncated_parquet", _truncated_parquet, r"cut\.parquet: .*truncated or corrupt"),
    ("not_parquet", lambda f, d: _text(d / "fake.parquet", ["a,b"]), r"fake\.parquet: .*truncated or corrupt"),
    ("nested_parquet_column", _nested_parquet, r"nested\.parquet, column 'medication': nested type"),
    ("binary_not_utf8", _invalid_utf8_parquet, r"binary\.parquet, column 'note': .*cannot be read as text"),
    ("conflicting_part_schema", lambda f, d: _parts(f, d / "parts", f.drop(columns="zip")), r"parts/part-1\.parquet: missing column\(s\) \['zip'\]"),
    ("mixed_formats", lambda f, d: (_parts(f, d / "mix", f), _csv(f, d / "mix" / "c.csv"))[0], r"mix: folder mixes formats"),
    ("empty_folder", lambda f, d: (d / "nothing").mkdir() or d / "nothing", r"nothing: folder holds no"),
    ("jsonl_wrong_keys", lambda f, d: _jsonl([{"a": 1}], d / "k.jsonl"), r"k\.jsonl, line 1: missing column"),
    ("truncated_gzip", _truncated_gzip, r"cut\.csv\.gz: cannot read csv file"),
    ("semicolons_without_delimiter", lambda f, d: _csv(f, d / "semi.csv", sep=";"), r"semi\.csv: missing column"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "pattern"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_unreadable_input_is_a_clear_error(build, pattern, demo_frame, contract, tmp_path):
    source = build(demo_frame, tmp_path)
    with pytest.raises(RecordError, match=pattern):
        ingest(source, contract, tmp_path / "out")


def test_unknown_encoding_is_named(demo_csv, contract, tmp_path):
    with pytest.raises(RecordError, match=r"unknown encoding 'klingon'"):
        ingest(demo_csv, contract, tmp_path, options=ReadOptions(encoding="klingon"))


def _csv_with(f: pd.DataFrame, d: Path, bad_line: str) -> Path:
    """The records as CSV with one bad line inserted as line 4 (after the header and 2 rows)."""
    lines = _lines(f)
    return _text(d / "bad.csv", [*lines[:3], bad_line, *lines[3:]])


def _jsonl_with(f: pd.DataFrame, d: Path, bad: object) -> Path:
    """The records as JSON Lines with one bad line inserted as line 3."""
    records = _records(f)
    return _jsonl([*records[:2], bad, *records[2:]], d / "bad.jsonl")


def _row(f: pd.DataFrame, **changes: object) -> dict[str, object]:
    return {**_records(f)[0], **changes}


# (case id, build, reason code, line of the quarantined row); each inserts one bad row
PARSE: list[tuple[str, Build, str, int]] = [
    ("too_few_fields", lambda f, d: _csv_with(f, d, "P0000999,only,three"), "ragged_row:3_of_17_fields", 4),
    ("too_many_fields", lambda f, d: _csv_with(f, d, _lines(f)[1] + ",surplus"), "ragged_row:18_of_17_fields", 4),
    ("stray_quote", lambda f, d: _csv_with(f, d, 'P1,"x"y' + ",1" * 15), "malformed_quoting", 4),
    ("malformed_json", lambda f, d: _jsonl_with(f, d, "{broken"), "malformed_json", 3),
    ("json_array_line", lambda f, d: _jsonl_with(f, d, [1, 2]), "not_a_json_object", 3),
    ("nested_json_value", lambda f, d: _jsonl_with(f, d, _row(f, note={"x": 1})), "nested_value", 3),
    ("json_extra_key", lambda f, d: _jsonl_with(f, d, _row(f, x=1)), "keys_differ_from_contract", 3),
    ("json_missing_key", lambda f, d: _jsonl_with(f, d, {k: v for k, v in _row(f).items() if k != "ssn"}), "keys_differ_from_contract", 3),
]  # fmt: skip


@pytest.mark.parametrize(
    ("build", "reason", "line"), [c[1:] for c in PARSE], ids=[c[0] for c in PARSE]
)
def test_unparseable_rows_are_quarantined_at_ingest(
    build, reason, line, demo_frame, contract, tmp_path
):
    source = build(demo_frame, tmp_path)
    result = ingest(source, contract, tmp_path / "out")
    quarantine = pq.read_table(tmp_path / "out" / "ingest_quarantine.parquet").to_pylist()
    assert [(q["line"], q["reason"]) for q in quarantine] == [(line, reason)]
    assert quarantine[0]["raw"]  # the text is kept for the data steward
    assert result.rows_out == len(demo_frame) and result.rows_in == len(demo_frame) + 1


def _validated(frame: pd.DataFrame, contract: Contract, tmp_path: Path) -> tuple[dict, dict]:
    contract = contract.model_copy(update={"max_quarantine_fraction": 1.0})
    ingest(_csv(frame, tmp_path / "in.csv"), contract, tmp_path / "ingest")
    result = validate(tmp_path / "ingest" / "records.parquet", contract, tmp_path / "out")
    assert result.rows_in == result.rows_ok + result.rows_quarantined == len(frame)
    quarantine = pd.read_parquet(tmp_path / "out" / "quarantine.parquet")
    return dict(zip(quarantine["__line__"], quarantine["__reasons__"], strict=True)), result.report


# (case id, column, bad value, reason label that must be given); one row each, in order
HOSPITAL_VALUES = [
    ("wrong_type_int", "length_of_stay", "three", "type_int(length_of_stay)"),
    ("negative_age", "age", "-4", "expect_column_values_to_be_between(age)"),
    ("impossible_date", "admit_date", "2021-02-30", "expect_column_values_to_match_strftime_format(admit_date)"),
    ("future_date", "admit_date", "2999-01-01", "not_in_future(admit_date)"),
    ("discharge_before_admit", "discharge_date", "1990-01-01", "expect_column_pair_values_a_to_be_greater_than_b(discharge_date,admit_date)"),
    ("age_not_matching_birth", "date_of_birth", "1930-01-01", "age_matches_date_of_birth(age)"),
    ("bad_icd10", "diagnosis_code", "U07.1", "format_icd10(diagnosis_code)"),
    ("null_required", "patient_id", None, "expect_column_values_to_not_be_null(patient_id)"),
    ("outside_allowed_set", "sex", "female", "expect_column_values_to_be_in_set(sex)"),
    ("one_megabyte_note", "note", "x" * (1 << 20), "expect_column_value_lengths_to_be_between(note)"),
    ("control_characters", "note", "fine\x07then\x1bbad", "no_control_characters(note)"),
    ("nul_byte", "medication", "aspirin\x00", "no_control_characters(medication)"),
    ("bad_pattern", "mrn", "12-34", "pattern(mrn)"),
    ("bad_email", "email", "not-an-email", "format_email(email)"),
]  # fmt: skip

BANK_VALUES = [
    ("nan_amount", "amount", "NaN", "type_float(amount)"),
    ("inf_amount", "amount", "inf", "type_float(amount)"),
    ("amount_out_of_range", "amount", "1e12", "expect_column_values_to_be_between(amount)"),
    ("unknown_currency", "currency", "XYZ", "format_iso4217_known_value(currency)"),
    ("pan_luhn", "card_number", "4111111111111112", "format_pan_check_digits(card_number)"),
    ("iban_checksum", "iban", "GB82WEST12345698765433", "format_iban_check_digits(iban)"),
    ("bad_mcc", "mcc", "54a1", "format_mcc(mcc)"),
    ("future_timestamp", "txn_timestamp", "2999-01-01T00:00:00", "not_in_future(txn_timestamp)"),
    ("timestamp_format", "txn_timestamp", "01/02/2020 10:00", "expect_column_values_to_match_strftime_format(txn_timestamp)"),
    ("contract_expectation", "merchant", "Shop 4111111111111111", "contract_expectation_0:expect_column_values_to_not_match_regex(merchant)"),
]  # fmt: skip


def _corrupt(frame: pd.DataFrame, cases: list[tuple[str, str, object, str]]) -> pd.DataFrame:
    frame = frame.copy()
    for row, (_, column, value, _) in enumerate(cases):
        frame.loc[row, column] = value
    return frame


@pytest.mark.parametrize("domain", ["hospital", "bank"])
def test_invalid_values_are_quarantined_with_their_reason(domain, demo_frame, tmp_path):
    cases = HOSPITAL_VALUES if domain == "hospital" else BANK_VALUES
    clean = demo_frame if domain == "hospital" else generate_transactions(15, seed=3).astype(object)
    contract = load_contract("hospital_encounters" if domain == "hospital" else "bank_transactions")
    reasons, report = _validated(_corrupt(clean, cases), contract, tmp_path)
    for row, (case, _, _, label) in enumerate(cases):
        assert label in reasons.get(row + 2, ""), (case, reasons.get(row + 2))  # header is line 1
    assert len(reasons) == len(cases)  # the other rows pass
    assert report["rows_quarantined"] == len(cases)


def test_duplicate_keys_fail_the_step_naming_the_check(demo_frame, contract, tmp_path):
    frame = pd.concat([demo_frame, demo_frame.iloc[[0, 1]]], ignore_index=True)
    with pytest.raises(ValidationFailed, match=r"unique_key\(encounter_id\): 4 rows"):
        _validated(frame, contract, tmp_path)


def test_too_much_quarantine_fails_the_step(demo_frame, contract, tmp_path):
    frame = demo_frame.assign(sex="?")
    ingest(_csv(frame, tmp_path / "in.csv"), contract, tmp_path / "ingest")
    with pytest.raises(ValidationFailed, match=r"rows quarantined \(100\.0%\), more than"):
        validate(tmp_path / "ingest" / "records.parquet", contract, tmp_path / "out")
    assert (tmp_path / "out" / "quarantine.parquet").exists()  # nothing lost: the rows are there


# Inputs that look odd but are fine: they are read, not rejected.
ACCEPTED: list[tuple[str, Build, ReadOptions]] = [
    ("mixed_case_columns", lambda f, d: _csv(f.rename(columns=lambda c: f" {c.upper()} "), d / "u.csv"), ReadOptions()),
    ("utf8_bom", lambda f, d: _csv(f, d / "bom.csv", encoding="utf-8-sig"), ReadOptions()),
    ("semicolons", lambda f, d: _csv(f, d / "semi.csv", sep=";"), ReadOptions(delimiter=";")),
    ("tab_separated", lambda f, d: _csv(f, d / "t.tsv", sep="\t"), ReadOptions()),
    ("cp1252", lambda f, d: _csv(f.assign(name="Zoë Müller"), d / "w.csv", encoding="cp1252"), ReadOptions(encoding="cp1252")),
    ("blank_lines", lambda f, d: _text(d / "b.csv", [_lines(f)[0], "", *_lines(f)[1:], ""]), ReadOptions()),
    ("jsonl_numbers", lambda f, d: _jsonl(_records(f.assign(age=f["age"].astype(int))), d / "n.jsonl"), ReadOptions()),
    ("gzip_csv", lambda f, d: (d / "g.csv.gz").write_bytes(gzip.compress(f.to_csv(index=False).encode())) and d / "g.csv.gz", ReadOptions()),
    ("csv_named_txt_with_format", lambda f, d: _csv(f, d / "export.dat"), ReadOptions(format="csv")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("build", "options"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED]
)
def test_odd_but_valid_inputs_are_read_whole(build, options, demo_frame, contract, tmp_path):
    result = ingest(build(demo_frame, tmp_path), contract, tmp_path / "out", options=options)
    assert result.rows_out == len(demo_frame) and result.rows_quarantined == 0
    table = pq.read_table(tmp_path / "out" / "records.parquet")
    assert table.column("patient_id").to_pylist() == demo_frame["patient_id"].tolist()
