import yaml
from kfp import components

from strongroom.cli import main


def test_compile_writes_ir_that_loads_back(tmp_path):
    out = tmp_path / "pipeline.yaml"
    assert main(["compile", "--out", str(out)]) == 0
    spec = yaml.safe_load(out.read_text())
    tasks = spec["root"]["dag"]["tasks"]
    assert {"ingest-op", "validate-op", "merge-deid-op", "train-op", "gate-op"} <= set(tasks)
    assert "deidentify-op" in out.read_text()  # inside the ParallelFor over shards
    assert "nvidia.com/gpu" in out.read_text()  # training asks for a GPU node on Kubeflow
    loaded = components.load_component_from_file(str(out))
    assert loaded.name == "strongroom-train-and-gate"


def test_production_profile_is_valid_and_secure():
    from pathlib import Path

    from strongroom.local_run import load_params

    params = load_params(Path(__file__).resolve().parents[2] / "configs" / "production.yaml")
    assert params.secure_mode and params.checkpoint_dir and params.physical_batch_size > 0
    assert params.delta < 1e-6
