"""Compile the pipeline to Kubeflow IR YAML, wired for the cluster."""

from __future__ import annotations

from pathlib import Path

from strongroom.pipelines.cluster_settings import ClusterSettings, load_cluster_settings


def cluster_settings(
    cluster_file: str | Path | None = None, *, image: str = "", train_image: str = ""
) -> ClusterSettings:
    """The site's settings (default: ClusterSettings()); `image` replaces every task's image,
    train's too unless `train_image` is given."""
    settings = load_cluster_settings(cluster_file)
    update: dict[str, str] = {}
    if image:
        update |= {"image": image, "train_image": train_image or image}
    elif train_image:
        update["train_image"] = train_image
    return settings.model_copy(update=update)


def compile_pipeline(out: str | Path, settings: ClusterSettings | None = None) -> Path:
    from kfp import compiler
    from strongroom.pipelines.train_and_gate import build_pipeline

    pipeline = build_pipeline(resumable=False, cluster=settings or ClusterSettings())
    compiler.Compiler().compile(pipeline, package_path=str(out))
    return Path(out)
