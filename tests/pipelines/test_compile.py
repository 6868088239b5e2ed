import yaml
from kfp import components

from strongroom.cli import main


def test_compile_writes_ir_that_loads_back(tmp_path):
    out = tmp_path / "pipeline.yaml"
    assert main(["compile", "--out", str(out)]) == 0
    spec = yaml.safe_load(out.read_text())
    tasks = spec["root"]["dag"]["tasks"]
    assert {"ingest-op", "validate-op", "merge-deid-op", "train-op", "gate-op"} <= set(tasks)
    assert "audit-op" in tasks["register-op"]["dependentTasks"]  # audited before registered
    assert "deidentify-op" in out.read_text()  # inside the ParallelFor over shards
    assert "nvidia.com/gpu" in out.read_text()  # training asks for a GPU node on Kubeflow
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    assert {name: p["parameterType"] for name, p in inputs.items()} == {
        group: "STRUCT" for group in ("records", "privacy", "training", "release")
    }  # the run's parameters, one struct per group, defined once (run_record/params.py)
    loaded = components.load_component_from_file(str(out))
    assert loaded.name == "strongroom-train-and-gate"


def test_production_profile_is_valid_and_secure():
    from pathlib import Path

    from strongroom.run_record.params import load_params

    params = load_params(Path(__file__).resolve().parents[2] / "configs" / "production.yaml")
    assert params.training.secure_rng and params.training.seed is None
    assert params.training.checkpoint_dir and params.training.physical_batch_size > 0
    assert params.privacy.delta < 1e-6
