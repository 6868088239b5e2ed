import yaml
from kfp import components

from strongroom.cli import main


def test_compile_writes_ir_that_loads_back(tmp_path):
    out = tmp_path / "pipeline.yaml"
    assert main(["compile", "--out", str(out)]) == 0
    spec, platform = yaml.safe_load_all(out.read_text())  # the pipeline, its Kubernetes wiring
    tasks = spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]  # inside the exit handler
    assert {"ingest-op", "validate-op", "merge-deid-op", "train-op", "gate-op"} <= set(tasks)
    assert "audit-op" in tasks["register-op"]["dependentTasks"]  # audited before registered
    assert "reference-op" in tasks["register-op"]["dependentTasks"]  # its figures on the card
    assert "deidentify-op" in out.read_text()  # inside the ParallelFor over shards
    assert set(platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]) == set(
        spec["deploymentSpec"]["executors"]
    )  # every task is wired (tests/pipelines/test_cluster_wiring.py says how)
    assert "nvidia.com/gpu" in out.read_text()  # training asks for a GPU node on Kubeflow
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    assert {name: p["parameterType"] for name, p in inputs.items()} == {
        group: "STRUCT" for group in ("records", "privacy", "training", "release")
    }  # the run's parameters, one struct per group, defined once (run_record/params.py)
    loaded = components.load_component_from_file(str(out))
    assert loaded.name == "strongroom-train-and-gate"
    assert "enableCache: true" not in out.read_text()  # a cluster's cache outlives the run


def test_the_local_pipeline_caches_every_task_and_the_compiled_one_none():
    """Caching is set on each task, whatever KFP's import-time default: the local run's cache
    lives in its run directory (what --resume reuses); the cluster's would outlive the run."""
    from strongroom.pipelines.train_and_gate import build_pipeline

    def caching(pipeline) -> list[bool]:
        dags = [pipeline.pipeline_spec.root.dag]
        dags += [c.dag for c in pipeline.pipeline_spec.components.values() if c.HasField("dag")]
        tasks = [
            task for dag in dags for task in dag.tasks.values() if task.HasField("component_ref")
        ]
        executors = [t for t in tasks if not t.component_ref.name.startswith("comp-for-loop")]
        executors = [t for t in executors if not t.component_ref.name.startswith("comp-condition")]
        executors = [t for t in executors if not t.component_ref.name.startswith("comp-exit")]
        return [t.caching_options.enable_cache for t in executors]

    resumable, compiled = (
        caching(build_pipeline(resumable=True)),
        caching(build_pipeline(resumable=False)),
    )
    assert len(resumable) == 12 and len(compiled) == 13  # + the exit handler's task
    assert all(resumable) and not any(compiled)


def test_production_profile_is_valid_and_secure():
    from pathlib import Path

    from strongroom.run_record.params import load_params

    params = load_params(Path(__file__).resolve().parents[2] / "configs" / "production.yaml")
    assert params.training.secure_rng and params.training.seed is None
    assert params.training.checkpoint_dir and params.training.physical_batch_size > 0
    assert params.privacy.delta < 1e-6
