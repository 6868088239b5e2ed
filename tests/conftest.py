"""Shared fixtures: tiny seeded records and the stage outputs built from them (CPU, seconds)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from strongroom.records.contract import Contract, load_contract
from strongroom.records.demo import write_demo_records


@pytest.fixture(scope="session")
def contract() -> Contract:
    return load_contract("hospital_encounters")


@pytest.fixture(scope="session")
def demo_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_records(tmp_path_factory.mktemp("demo") / "encounters.csv", 30, seed=7)


@pytest.fixture(scope="session")
def demo_frame(demo_csv: Path) -> pd.DataFrame:
    return pd.read_csv(demo_csv, dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def stage_dirs(tmp_path_factory: pytest.TempPathFactory, demo_csv: Path) -> dict[str, str]:
    """ingest -> validate -> deidentify -> corpus on the demo records, once per session."""
    from strongroom import stages

    root = tmp_path_factory.mktemp("stages")
    dirs = {name: str(root / name) for name in ("ingest", "validate", "deid", "corpus")}
    stages.ingest_stage(str(demo_csv), "hospital_encounters", dirs["ingest"])
    stages.validate_stage(dirs["ingest"], "hospital_encounters", dirs["validate"])
    stages.deidentify_stage(
        dirs["validate"], "hospital_encounters", str(root / "key"), dirs["deid"]
    )
    stages.corpus_stage(
        dirs["deid"], "hospital_encounters", dirs["corpus"], max_seq_len=256, eval_fraction=0.2
    )
    return dirs


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path
