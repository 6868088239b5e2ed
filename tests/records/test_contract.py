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
