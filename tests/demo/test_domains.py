"""Each demo domain's generator writes records its own contract accepts, and names a policy."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from strongroom.demo.domains import DOMAINS
from strongroom.records.contract import load_contract


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_a_domain_writes_records_with_its_contracts_columns(name: str, tmp_path: Path) -> None:
    domain = DOMAINS[name]
    written = domain.write_records(tmp_path / domain.records_file, 4, seed=1)
    assert written.name == domain.records_file
    frame = pd.read_csv(written, dtype=str)
    assert list(frame.columns) == list(load_contract(domain.contract).columns)
    assert frame[load_contract(domain.contract).privacy_unit].nunique() == 4


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_a_domain_names_a_shipped_policy(name: str) -> None:
    policies = resources.files("strongroom.governance") / "policies"
    assert (policies / f"{DOMAINS[name].policy}.yaml").is_file()
