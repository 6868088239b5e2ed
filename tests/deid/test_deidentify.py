import json
from pathlib import Path

import pandas as pd

from strongroom.deid.deidentify import generalize, load_key, pseudonym
from strongroom.deid.record_values import scrub_known_values
from strongroom.records.contract import Treatment
from tests.records.test_unit_ids import VARIANTS


def test_identifier_columns_are_gone_and_keys_pseudonymised(stage_dirs, demo_frame, contract):
    out = pd.read_parquet(Path(stage_dirs["deid"]) / "deidentified.parquet")
    for column in ("mrn", "name", "ssn", "phone", "email"):
        assert column not in out.columns
    assert not set(out["patient_id"]) & set(demo_frame["patient_id"])
    assert out["patient_id"].nunique() == demo_frame["patient_id"].nunique()  # still linkable
    # a year, or for people over 89 the one category Safe Harbor allows (very_old.py)
    assert out["date_of_birth"].str.fullmatch(r"\d{4}|90\+").all()
    born = pd.to_datetime(demo_frame["date_of_birth"]).dt.year
    assert (born.astype(str) == out["date_of_birth"]).sum() + (
        out["date_of_birth"] == "90+"
    ).sum() == len(out)
    assert out["zip"].str.fullmatch(r"\d{3}").all()


def test_notes_hold_no_identifier_of_their_patient(stage_dirs, demo_frame):
    out = pd.read_parquet(Path(stage_dirs["deid"]) / "deidentified.parquet")
    notes = " ".join(out["note"])
    for column in ("name", "mrn", "phone", "email", "ssn", "date_of_birth"):
        for value in demo_frame[column]:
            assert value not in notes, column
    report = json.loads((Path(stage_dirs["deid"]) / "deidentify_report.json").read_text())
    assert report["residual_identifiers"] == 0 and report["residual_identifiers_by_type"] == {}
    assert report["text_entities_redacted"]  # Presidio found entities beyond the known values


def test_report_holds_counts_not_values(stage_dirs, demo_frame):
    text = (Path(stage_dirs["deid"]) / "deidentify_report.json").read_text()
    for value in demo_frame["name"].tolist() + demo_frame["mrn"].tolist():
        assert value not in text


def test_no_identifier_value_outlives_the_step_in_its_caches(demo_frame, contract, tmp_path):
    from strongroom.deid import record_values

    _deidentify_units(demo_frame, contract, tmp_path, [f"P{i}" for i in range(20)])
    assert record_values.known_value_pattern.cache_info().currsize == 0
    assert record_values._needle.cache_info().currsize == 0


def test_generalisation_follows_safe_harbor():
    assert generalize(Treatment.YEAR, "1950-07-04") == "1950"
    assert generalize(Treatment.AGE_90, "89") == "89"
    assert generalize(Treatment.AGE_90, "97") == "90+"
    assert generalize(Treatment.ZIP3, "02139") == "021"
    assert generalize(Treatment.ZIP3, "03601") == "000"  # sparsely populated 3-digit area


def test_pseudonyms_are_keyed_and_stable(tmp_path):
    key = load_key(tmp_path / "k", create=True)
    assert (tmp_path / "k").stat().st_mode & 0o077 == 0  # readable by the owner only
    assert pseudonym(key, "patient_id", "P1") == pseudonym(key, "patient_id", "P1")
    assert pseudonym(key, "patient_id", "P1") != pseudonym(b"other", "patient_id", "P1")


def test_known_values_are_scrubbed_as_whole_words():
    text, hits = scrub_known_values(
        "Ann Lee (Lee) lives in Leeds", {"Ann Lee": "<NAME>", "Lee": "<NAME>"}
    )
    assert text == "<NAME> (<NAME>) lives in Leeds" and hits == 2


def test_residuals_count_whole_values_in_kept_columns_but_not_name_words(demo_frame, contract):
    from strongroom.deid.deidentify import _known_values, _row_residuals

    raw = demo_frame.iloc[0].copy()
    raw["name"] = "John Carter"
    known = _known_values(raw, contract)
    out = pd.Series({"medication": "John Lewis pharmacy", "note": "seen today"})
    assert _row_residuals(out, raw, known, contract) == {}  # a coincidence, not a leak
    out["note"] = "John was seen today"
    assert _row_residuals(out, raw, known, contract) == {"PERSON": 1}  # every name word counts
    out["medication"] = "for John Carter"
    assert _row_residuals(out, raw, known, contract) == {"PERSON": 2}  # the whole name, kept


def test_known_numbers_are_found_however_they_are_written():
    known = {"4111111111111111": "<CREDIT_CARD>", "555-123-4567": "<PHONE_NUMBER>"}
    text = "card 4111 1111 1111 1111, call (555) 123.4567 or 5551234567; ref 41111111111111119"
    scrubbed, hits = scrub_known_values(text, known)
    assert (
        scrubbed
        == "card <CREDIT_CARD>, call (<PHONE_NUMBER> or <PHONE_NUMBER>; ref 41111111111111119"
    )
    assert hits == 3  # the longer number is another one: left for Presidio


def test_placeholders_are_typed_by_the_contract(demo_frame, contract):
    from strongroom.deid.deidentify import _known_values

    known = _known_values(demo_frame.iloc[0], contract)
    assert known[demo_frame.iloc[0]["name"]] == "<PERSON>"
    assert known[demo_frame.iloc[0]["mrn"]] == "<MEDICAL_RECORD_NUMBER>"
    assert known[demo_frame.iloc[0]["patient_id"]] == "<PATIENT_ID>"  # no entity: the column


def test_the_key_never_reaches_an_output(stage_dirs, tmp_path):
    key = (Path(stage_dirs["deid"]).parent / "key").read_text().strip()
    for path in Path(stage_dirs["deid"]).iterdir():
        assert key.encode() not in path.read_bytes(), path.name  # neither hex nor raw bytes
        assert bytes.fromhex(key) not in path.read_bytes(), path.name


# Runs the stage in a child whose every connection attempt is recorded, then refused: a library
# that swallowed the refusal (and fell back silently) would still show up in the record.
OFFLINE_CHILD = r"""
import socket, sys
attempts = []
def refuse(self, address, *args):
    attempts.append(repr(address))
    raise ConnectionRefusedError("offline test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
from strongroom import stages
stages.deidentify_stage(sys.argv[1], "hospital_encounters", sys.argv[2], sys.argv[3])
print("ATTEMPTS", len(attempts), attempts[:3])
"""


def test_deidentification_makes_no_network_connection(stage_dirs, tmp_path):
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", OFFLINE_CHILD, stage_dirs["validate"], str(tmp_path / "key"),
         str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "ATTEMPTS 0 []" in run.stdout
    assert (tmp_path / "out" / "deidentified.parquet").exists()


UNIT_VARIANTS = VARIANTS  # one patient's identifier in seven spellings


def _deidentify_units(demo_frame, contract, tmp_path, units):
    """De-identify the first rows of the demo records with these privacy-unit values."""
    from strongroom.deid.deidentify import deidentify
    from strongroom.records.io import write_strings

    frame = demo_frame.iloc[: len(units)].copy()
    frame[contract.privacy_unit] = units
    records = write_strings(frame[list(contract.columns)], tmp_path / "validated.parquet")
    result = deidentify(records, contract, tmp_path / "out", key=b"k" * 32)
    out = pd.read_parquet(tmp_path / "out" / "deidentified.parquet")
    return out, result.report, (tmp_path / "out" / "deidentify_report.json").read_text()


def test_every_spelling_of_one_patient_gets_one_pseudonym(demo_frame, contract, tmp_path):
    out, report, text = _deidentify_units(demo_frame, contract, tmp_path, UNIT_VARIANTS)
    assert out["patient_id"].nunique() == 1  # one person, one DP unit
    assert out["encounter_id"].nunique() == len(UNIT_VARIANTS)  # other pseudonyms as before
    assert report["unit_values_merged"] == 6
    assert json.loads(text)["unit_values_merged"] == 6
    for value in (v.strip() for v in UNIT_VARIANTS):
        assert value not in text and json.dumps(value)[1:-1] not in text  # counts, never values


def test_a_case_sensitive_unit_column_keeps_case_variants_apart(demo_frame, contract, tmp_path):
    columns = dict(contract.columns)
    columns["patient_id"] = columns["patient_id"].model_copy(update={"case_sensitive": True})
    sensitive = contract.model_copy(update={"columns": columns})
    units = ["P0000001", "p0000001", " P0000001", "P\uff10\uff10\uff10\uff10\uff10\uff10\uff11"]
    out, report, _ = _deidentify_units(demo_frame, sensitive, tmp_path, units)
    assert out["patient_id"].nunique() == 2  # P0000001 (three spellings) and p0000001
    assert out["patient_id"][0] != out["patient_id"][1]
    assert report["unit_values_merged"] == 2


def test_pseudonyms_of_other_columns_are_not_normalised(demo_frame, contract, tmp_path):
    frame = demo_frame.copy()
    frame.loc[1, "encounter_id"] = frame.loc[0, "encounter_id"].lower()
    out, report, _ = _deidentify_units(frame, contract, tmp_path, ["P0000001", "P0000002"])
    assert out["encounter_id"][0] != out["encounter_id"][1]  # the primary key stays exact
    assert out["patient_id"][0] != out["patient_id"][1] and report["unit_values_merged"] == 0
