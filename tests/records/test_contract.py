import pytest
import yaml

from strongroom.config import parse_model
from strongroom.errors import ConfigError
from strongroom.records.contract import Contract, Treatment, load_contract


def test_builtin_contract_declares_unit_key_and_identifiers(contract):
    assert contract.privacy_unit == "patient_id"
    assert contract.columns["patient_id"].treatment == Treatment.PSEUDONYMIZE
    assert {"mrn", "name", "ssn", "phone", "email"} <= set(contract.identifier_columns())
    assert contract.free_text_columns() == ["note"]


def test_invalid_contract_reports_every_problem_at_once(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "bad",
                "privacy_unit": "person",
                "unit_kind": "person",
                "primary_key": "id",
                "columns": {"id": {"type": "integer"}, "x": {"treatment": "shred"}},
            }
        )
    )
    with pytest.raises(ConfigError) as error:
        load_contract(path)
    assert len(error.value.problems) == 2  # both bad fields named, not just the first
    text = str(error.value)
    assert "bad.yaml" in text and "columns.id.type" in text and "columns.x.treatment" in text


def test_cross_field_problems_are_listed_together(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "bad",
                "privacy_unit": "who",
                "unit_kind": "person",
                "primary_key": "what",
                "columns": {"a": {}},
            }
        )
    )
    with pytest.raises(ConfigError) as error:
        load_contract(path)
    assert "privacy_unit 'who'" in str(error.value) and "primary_key 'what'" in str(error.value)


def test_bank_contract_declares_card_and_account_data_as_identifiers():
    bank = load_contract("bank_transactions")
    assert bank.privacy_unit == "customer_id" and bank.primary_key == "txn_id"
    assert {"account_number", "iban", "card_number", "customer_name"} <= set(
        bank.identifier_columns()
    )
    assert bank.free_text_columns() == ["memo", "complaint_narrative"]
    assert bank.columns["card_number"].format == "pan"


def _write(tmp_path, data):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _contract_data(columns: dict) -> dict:
    """A minimal contract around `columns`, the person in column `id`."""
    return {
        "name": "mine", "privacy_unit": "id", "unit_kind": "person", "primary_key": "id",
        "columns": columns,
    }  # fmt: skip


def test_user_expectations_are_checked_and_every_problem_listed(tmp_path):
    columns = {"id": {"treatment": "pseudonymize"}, "memo": {"free_text": True}}
    data = _contract_data(columns)
    data["expectations"] = [
        {"type": "expect_column_values_to_be_shiny", "kwargs": {"column": "memo"}},
        {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "memo"}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "nope", "regex": "a"}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "memo", "rx": "a"}},
    ]
    data["age_checks"] = [{"age": "age", "birth_date": "id", "at": "id"}]
    with pytest.raises(ConfigError) as error:
        load_contract(_write(tmp_path, data))
    problems = "\n".join(error.value.problems)
    assert "expectations.0: unknown Great Expectations expectation" in problems
    assert "expectations.1: expect_column_mean_to_be_between is not a row-level" in problems
    assert "expectations.2: expect_column_values_to_match_regex: column(s) ['nope']" in problems
    assert "expectations.3: expect_column_values_to_match_regex:" in problems and "rx" in problems
    assert "age_checks.0.age: not a declared column" in problems
    assert "age_checks.0.birth_date: must be a column of type ('date', 'datetime')" in problems
    assert len(error.value.problems) == 7


def test_column_options_must_fit_the_type(tmp_path):
    columns = {
        "id": {"treatment": "pseudonymize"},
        "when": {"type": "string", "not_future": True},
        "code": {"format": "isbn"},
        "n": {"type": "date", "min": 3},
    }
    data = _contract_data(columns)
    with pytest.raises(ConfigError) as error:
        load_contract(_write(tmp_path, data))
    text = str(error.value)
    assert "columns.when: not_future applies to date and datetime" in text
    assert "columns.code.format" in text and "columns.n: min / max apply to int" in text


ARABIC_INDIC = "P\u0660\u0660\u0660\u0660\u0660\u0660\u0661"  # P0000001 in Arabic-Indic digits
FULL_WIDTH = "P\uff10\uff10\uff10\uff10\uff10\uff10\uff11"  # and in full-width digits


def test_contract_patterns_match_ascii_digits_unless_the_pattern_asks_for_unicode():
    import re

    from strongroom.records.contract import compile_pattern

    assert compile_pattern(r"P\d{7}").search("P0000001")
    assert not compile_pattern(r"P\d{7}").search(ARABIC_INDIC)
    assert not compile_pattern(r"P\d{7}").search(FULL_WIDTH)
    assert not compile_pattern(r"\w+").search("caf\u00e9")
    assert compile_pattern(r"P(?u:\d){7}").search(ARABIC_INDIC)  # asked for, in the pattern
    assert not compile_pattern(r"\(?u\d").search("u\u0661")  # "\(?u" is text, not a flag
    assert not compile_pattern("a|b").search("ab")  # the whole value, alternatives included
    with pytest.raises(re.error):  # an invalid pattern is still invalid, as before
        compile_pattern(r"P(\d{7}")


def test_case_sensitive_is_off_unless_the_column_says_so(contract):
    from strongroom.records.contract import ColumnSpec

    assert contract.columns["patient_id"].case_sensitive is False
    spec = ColumnSpec.model_validate({"treatment": "pseudonymize", "case_sensitive": True})
    assert spec.case_sensitive is True


def test_hospital_pattern_quarantines_patient_ids_in_other_digits(demo_frame, contract, tmp_path):
    import json

    import pandas as pd

    from strongroom.records.ingest import ingest
    from strongroom.records.validate import QUARANTINE_FILE, REASONS, validate
    from tests.conftest import write_csv

    frame = demo_frame.copy()
    frame.loc[0, "patient_id"], frame.loc[1, "patient_id"] = ARABIC_INDIC, FULL_WIDTH
    lenient = contract.model_copy(update={"max_quarantine_fraction": 0.5})
    ingest(write_csv(frame, tmp_path / "in.csv"), lenient, tmp_path / "ingest")
    result = validate(tmp_path / "ingest" / "records.parquet", lenient, tmp_path / "out")
    assert result.rows_quarantined == 2
    quarantined = pd.read_parquet(tmp_path / "out" / QUARANTINE_FILE)
    assert sorted(quarantined["patient_id"]) == sorted([ARABIC_INDIC, FULL_WIDTH])
    assert all("pattern(patient_id)" in reasons for reasons in quarantined[REASONS])
    report = (tmp_path / "out" / "validation_report.json").read_text()
    checks = {e["expectation"]: e["unexpected"] for e in json.loads(report)["expectations"]}
    assert checks["pattern(patient_id)"] == 2
    for value in (ARABIC_INDIC, FULL_WIDTH):
        assert value not in report and json.dumps(value) not in report  # counts, never values


def test_a_contract_must_declare_what_its_privacy_unit_is(tmp_path):
    data = _contract_data({"id": {"treatment": "pseudonymize"}})
    undeclared = {k: v for k, v in data.items() if k != "unit_kind"}
    with pytest.raises(ConfigError, match="unit_kind"):
        parse_model(undeclared, Contract, source="mine.yaml")
    declared = parse_model(data, Contract, source="mine.yaml")
    assert declared.unit_kind == "person" and declared.unit_name == "person"


def test_a_pattern_that_does_not_compile_is_refused_with_the_others_at_load():
    columns = {
        "id": {"treatment": "pseudonymize", "pattern": "[unclosed"},
        "code": {"pattern": "(a"},
        "n": {"type": "string", "min": 1},
    }
    with pytest.raises(ConfigError) as error:
        parse_model(_contract_data(columns), Contract, source="mine.yaml")
    problems = "\n".join(error.value.problems)
    assert "columns.id.pattern: not a valid regular expression" in problems
    assert "columns.code.pattern: not a valid regular expression" in problems
    assert "min / max apply to int and float columns" in problems


def test_phone_regions_must_be_regions_libphonenumber_knows(tmp_path):
    data = _contract_data({"id": {"treatment": "pseudonymize"}, "memo": {"free_text": True}})
    data["phone_regions"] = ["PL", "XX", "se"]
    with pytest.raises(ConfigError) as error:
        load_contract(_write(tmp_path, data))
    assert [p for p in error.value.problems if "phone_regions" in p] == [
        "(top level): phone_regions: 'XX' is no region libphonenumber knows (ISO 3166 alpha-2)",
        "(top level): phone_regions: 'se' is no region libphonenumber knows (ISO 3166 alpha-2)",
    ]
    data["phone_regions"] = ["PL", "SE"]
    assert load_contract(_write(tmp_path, data)).phone_regions == ["PL", "SE"]
