import pytest
import yaml

from strongroom.errors import ConfigError
from strongroom.records.contract import Treatment, load_contract


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
            {"name": "bad", "privacy_unit": "who", "primary_key": "what", "columns": {"a": {}}}
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


def test_user_expectations_are_checked_and_every_problem_listed(tmp_path):
    columns = {"id": {"treatment": "pseudonymize"}, "memo": {"free_text": True}}
    data = {"name": "mine", "privacy_unit": "id", "primary_key": "id", "columns": columns}
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
    data = {"name": "mine", "privacy_unit": "id", "primary_key": "id", "columns": columns}
    with pytest.raises(ConfigError) as error:
        load_contract(_write(tmp_path, data))
    text = str(error.value)
    assert "columns.when: not_future applies to date and datetime" in text
    assert "columns.code.format" in text and "columns.n: min / max apply to int" in text
