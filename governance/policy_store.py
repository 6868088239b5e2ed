"""The organisation's policies: looked up by name, each with a version and a hash.

A run may bring any policy file for its own gate report, but what lets a version keep an alias
(promotion to staging, approval, verification before serving) is the organisation's policy of that
name: the shipped ones, overridden or extended by the files in $STRONGROOM_POLICY_DIR, a directory
the organisation controls (not the pipeline's users). A policy is named, never given as a path,
here; the sha256 of its file is recorded with every decision so a reviewer can tell which text
decided.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from strongroom.governance.gate import Policy

from strongroom.config import load_yaml_model
from strongroom.errors import GateError

POLICY_DIR_ENV = "STRONGROOM_POLICY_DIR"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class OrgPolicy:
    policy: Policy
    sha256: str  # of the policy file's bytes
    source: str  # "shipped" or the organisation's directory

    @property
    def ref(self) -> str:
        return f"{self.policy.name} v{self.policy.version} sha256:{self.sha256[:12]}"


def org_policy(name: str) -> OrgPolicy:
    """The organisation's policy called `name`: $STRONGROOM_POLICY_DIR/<name>.yaml, else the
    shipped one; an error when neither exists (a run's own file never stands in)."""
    if not _NAME.fullmatch(name):
        raise GateError(f"policy names are lower-case words (a-z, 0-9, _ or -), not {name!r}")
    directory = os.environ.get(POLICY_DIR_ENV, "")
    if directory and (Path(directory) / f"{name}.yaml").is_file():
        return _loaded(Path(directory) / f"{name}.yaml", name, source=str(Path(directory)))
    shipped = resources.files("strongroom.governance") / "policies" / f"{name}.yaml"
    if shipped.is_file():
        with resources.as_file(shipped) as path:
            return _loaded(path, name, source="shipped")
    where = f"{POLICY_DIR_ENV} ({directory}) or " if directory else ""
    raise GateError(f"the organisation has no policy {name!r} ({where}the shipped policies)")


def policy_file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _loaded(path: Path, name: str, *, source: str) -> OrgPolicy:
    policy = load_yaml_model(path, Policy)
    if policy.name != name:
        raise GateError(f"policy file {path.name} names itself {policy.name!r}, not {name!r}")
    return OrgPolicy(policy, policy_file_sha256(path), source)
