"""Shared fixtures: tiny seeded records and the stage outputs built from them (CPU, seconds)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from strongroom.demo.hospital import write_demo_records
from strongroom.records.contract import Contract, load_contract

CANARIES = 16  # planted in the shared corpus: the audit runs on every registered test version


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
    from strongroom.deid.deidentify import HeldOutSplit

    root = tmp_path_factory.mktemp("stages")
    dirs = {name: str(root / name) for name in ("ingest", "validate", "deid", "corpus")}
    stages.ingest_stage(str(demo_csv), "hospital_encounters", dirs["ingest"])
    stages.validate_stage(dirs["ingest"], "hospital_encounters", dirs["validate"])
    stages.deidentify_stage(
        dirs["validate"], "hospital_encounters", str(root / "key"), dirs["deid"],
        split=HeldOutSplit(eval_fraction=0.2),
    )  # fmt: skip
    stages.corpus_stage(
        dirs["deid"], "hospital_encounters", dirs["corpus"], max_seq_len=256, canaries=CANARIES
    )
    return dirs


@pytest.fixture(scope="session")
def store(stage_dirs, tmp_path_factory):
    """Two registered versions of model `m` on the same records: (uri, the seal's public key
    file, {"secure": version, "seeded": version}, root)."""
    from strongroom.privacy.plan import PrivacyParams
    from strongroom.release import register_stage
    from strongroom.stages import audit_stage, evaluate_stage, train_stage
    from strongroom.training.settings import TrainSettings

    root = tmp_path_factory.mktemp("release")
    key_file, uri = str(root / "seal.key"), f"sqlite:///{root / 'mlflow.db'}"
    versions = {}
    for name, seed, epochs in (("secure", None, 1.0), ("seeded", 3, 2.0)):
        model_dir, eval_dir = str(root / f"{name}-model"), str(root / f"{name}-eval")
        audit_dir = str(root / f"{name}-audit")
        train_stage(
            stage_dirs["corpus"], model_dir, contract="hospital_encounters",
            privacy=PrivacyParams(target_epsilon=4.0, delta=1e-5, batch_size=4, epochs=epochs),
            training=TrainSettings(model_preset="tiny", seed=seed), seal_key_file=key_file,
        )  # fmt: skip
        evaluate_stage(model_dir, stage_dirs["corpus"], eval_dir)
        audit_stage(model_dir, stage_dirs["corpus"], audit_dir, seal_key_file=key_file)
        registered = register_stage(
            tracking_uri=uri, model_name="m", contract="hospital_encounters",
            seal_key_file=key_file, validate_dir=stage_dirs["validate"],
            deid_dir=stage_dirs["deid"], corpus_dir=stage_dirs["corpus"], model_dir=model_dir,
            eval_dir=eval_dir, audit_dir=audit_dir,
        )  # fmt: skip
        versions[name] = registered["version"]
    return uri, f"{key_file}.pub", versions, root


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path
