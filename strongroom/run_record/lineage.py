"""Where a model came from: the code, the image, the KFP run and the contract, recorded with the
facts at registration (sealed with them) and as tags of the MLflow run.

The image and the KFP run id reach the task as environment variables that the compiled
pipeline's cluster wiring sets (pipelines/cluster.py); a local run has neither. The code is the
package's version and, in a git checkout, the commit (`-dirty` when files differ from it); an
image built from a checkout bakes the commit in as $STRONGROOM_GIT_COMMIT.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from pydantic import BaseModel

from strongroom.run_record.facts import LineageFacts

IMAGE_ENV = "STRONGROOM_IMAGE_REF"  # the image the task runs (REF@sha256:... on a cluster)
KFP_RUN_ID_ENV = "STRONGROOM_KFP_RUN_ID"  # KFP's run id (pod label pipeline/runid)
GIT_COMMIT_ENV = "STRONGROOM_GIT_COMMIT"  # baked into images built from a checkout


def code_version() -> str:
    """The package version, and the commit it was built from when known."""
    import strongroom

    commit = git_commit()
    return f"{strongroom.__version__}+{commit}" if commit else strongroom.__version__


def git_commit() -> str:
    """$STRONGROOM_GIT_COMMIT, else the commit of the checkout the package runs from ('' when
    it is not one), with `-dirty` when tracked files differ from it."""
    if os.environ.get(GIT_COMMIT_ENV):
        return os.environ[GIT_COMMIT_ENV]
    import strongroom

    root = Path(strongroom.__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return ""
    git = ["git", "-C", str(root)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def contract_sha256(contract: BaseModel) -> str:
    """sha256 of the loaded contract (its canonical JSON): any change to what it says changes it,
    a comment or a reordering does not."""
    return hashlib.sha256(contract.model_dump_json().encode()).hexdigest()


def lineage_facts(contract: BaseModel) -> LineageFacts:
    """The lineage of the run registering now."""
    return LineageFacts(
        code_version=code_version(),
        image=os.environ.get(IMAGE_ENV) or None,
        kfp_run_id=os.environ.get(KFP_RUN_ID_ENV) or None,
        contract_sha256=contract_sha256(contract),
    )
