"""What makes a logged model self-contained: its code, pinned requirements and a signature.

The pyfunc's code is copied into the model (`code_paths`): the modules it imports and nothing
else (no training code, no Opacus), so the model loads where strongroom is not installed, and an
air-gapped image build resolves exact versions from the requirements.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

# The package's modules the pyfunc imports (strongroom/__init__ pulls in offline and lifetime).
SERVING_MODULES = (
    "__init__.py",
    "lifetime.py",
    "offline.py",
    "corpus/__init__.py",
    "corpus/tokenizer.py",
    "model/__init__.py",
    "model/artifact.py",
    "model/config.py",
    "model/gemma.py",
    "model/sampling.py",
    "tracking/__init__.py",
    "tracking/pyfunc.py",
)


def serving_code(scratch: Path) -> Path:
    """A copy of SERVING_MODULES as package `strongroom` under `scratch`; its path."""
    import strongroom

    source, target = Path(strongroom.__file__).parent, scratch / "strongroom"
    for module in SERVING_MODULES:
        (target / module).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / module, target / module)
    return target


def serving_requirements() -> list[str]:
    """Exact versions of what the pyfunc imports (a CPU or CUDA torch build of that version)."""
    import cloudpickle
    import mlflow
    import numpy
    import torch

    def release(version: str) -> str:
        return version.split("+")[0]  # "2.13.0+cpu" -> "2.13.0": the build is the image's choice

    return [
        f"mlflow=={mlflow.__version__}",
        f"torch=={release(torch.__version__)}",
        f"numpy=={numpy.__version__}",
        f"cloudpickle=={cloudpickle.__version__}",
    ]


def serving_signature() -> Any:
    """Prompts in (one string column, or a list of strings), texts out; generation options as
    params with their defaults (tracking/pyfunc.GENERATION_PARAMS)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    from strongroom.tracking.pyfunc import GENERATION_PARAMS

    params = [ParamSpec(name, kind, default) for name, (kind, default) in GENERATION_PARAMS.items()]
    return ModelSignature(
        inputs=Schema([ColSpec("string")]),
        outputs=Schema([ColSpec("string")]),
        params=ParamSchema(params),
    )
