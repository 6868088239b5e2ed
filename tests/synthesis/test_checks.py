"""The released contract: real de-identified records pass it, a broken record does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.corpus.build import text_columns
from strongroom.records.contract import load_contract
from strongroom.records.io import read_strings
from strongroom.synthesis.checks import check_records
from strongroom.synthesis.released import not_checked, released_contract


@pytest.fixture(scope="module")
def released_records(stage_dirs, contract):
    frame = read_strings(Path(stage_dirs["deid"]) / "deidentified.parquet")
    released = released_contract(contract)
    records = frame[text_columns(contract)].copy()
    records.insert(0, contract.primary_key, [f"syn-{i}" for i in range(len(frame))])
    records.insert(0, contract.privacy_unit, "syn-0")
    return released, records


def test_de_identified_demo_records_pass_the_released_contract(released_records, tmp_path):
    released, records = released_records
    checked = check_records(records, released, tmp_path)
    assert checked.passed.all() and checked.unexpected == {}


def test_a_broken_record_fails_with_the_contracts_names(released_records, tmp_path):
    released, records = released_records
    broken = records.copy()
    broken.loc[broken.index[2], "sex"] = "Q"  # not in the allowed set
    broken.loc[broken.index[5], "admit_date"] = "2031"  # after the discharge year
    broken.loc[broken.index[5], "discharge_date"] = "2020"
    broken.loc[broken.index[7], "age"] = "123"  # "90+" is the only age above 89 released
    checked = check_records(broken, released, tmp_path)
    assert list(checked.passed[~checked.passed].index) == [broken.index[i] for i in (2, 5, 7)]
    assert checked.unexpected == {
        "expect_column_values_to_be_in_set(sex)": 1,
        "expect_column_pair_values_a_to_be_greater_than_b(discharge_date,admit_date)": 1,
        "pattern(age)": 1,
    }


def test_what_the_released_contract_cannot_check_is_named():
    assert not_checked(load_contract("hospital_encounters"))[0].startswith("age_checks.0")
    bank = released_contract(load_contract("bank_transactions"))
    assert bank.expectations and "card_number" not in bank.columns  # dropped: not released
