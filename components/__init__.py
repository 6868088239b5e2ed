"""KFP components: one thin wrapper per stage. Heavy imports live inside each function body.

The container image holds strongroom and its dependencies (kfp included), so no component installs
anything at run time: clusters in hospitals and banks have no internet access.
"""

import os

# The images the compiled pipeline runs in (images/; `make images` builds both); the kfp local
# runner ignores them. `strongroom compile --image REF@sha256:...` sets every task's image, and
# pipelines/cluster_settings.py is where a site's settings override these defaults.
BASE_IMAGE = os.environ.get("STRONGROOM_IMAGE", "strongroom-cpu:0.1.0")
CUDA_IMAGE = os.environ.get("STRONGROOM_CUDA_IMAGE", "strongroom-cuda:0.1.0")  # train on GPUs


def log_metrics(metrics: object, values: dict[str, float | None]) -> None:
    """Log `values` (None: not measured, left out) on a Metrics output and write them to its
    file too: the local runner's cache treats an output without a file as missing, so a task
    whose Metrics file was never written would run again on `strongroom run --resume`."""
    import json
    from pathlib import Path

    logged = {name: value for name, value in values.items() if value is not None}
    for name, value in logged.items():
        metrics.log_metric(name, value)  # type: ignore[attr-defined]
    path = Path(metrics.path)  # type: ignore[attr-defined]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(logged, sort_keys=True))
