"""Compile the pipeline to Kubeflow IR YAML."""

from pathlib import Path


def compile_pipeline(out: str | Path = "pipeline.yaml") -> Path:
    from kfp import compiler
    from strongroom.pipelines.train_and_gate import train_and_gate

    compiler.Compiler().compile(train_and_gate, package_path=str(out))
    return Path(out)
