import yaml
from kfp import components

from strongroom.cli import main


def test_compile_writes_ir_that_loads_back(tmp_path):
    out = tmp_path / "pipeline.yaml"
    assert main(["compile", "--out", str(out)]) == 0
    spec = yaml.safe_load(out.read_text())
    tasks = spec["root"]["dag"]["tasks"]
    assert {"ingest-op", "validate-op", "deidentify-op", "train-op", "gate-op"} <= set(tasks)
    assert "nvidia.com/gpu" in out.read_text()  # training asks for a GPU node on Kubeflow
    loaded = components.load_component_from_file(str(out))
    assert loaded.name == "strongroom-train-and-gate"
