"""Seals: a record the training pipeline writes cannot be edited afterwards without it showing.

A seal is HMAC-SHA256 over the record's canonical JSON, keyed with the *seal key*: a secret of the
pipeline's identity (Kubernetes Secret, or <run dir>/seal.key locally), apart from the
pseudonymisation key. Whoever can edit MLflow tags or artifacts but does not hold the key cannot
make a record that verifies. Limitation (documented): the gate verifies with the same key, so
the gate's identity could also seal; an asymmetric signature would separate the two.
Tests: tests/run_record/test_evidence.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from strongroom.errors import StrongroomError
from strongroom.keys import load_hex_key

SEAL_KEY_ENV = "STRONGROOM_SEAL_KEY"  # hex; on Kubeflow from a Kubernetes Secret
SEAL_FIELD = "seal"


class SealError(StrongroomError):
    """A sealed record does not verify (edited, or sealed with another key)."""


def load_seal_key(key_file: str | Path | None, *, create: bool = False) -> bytes:
    """$STRONGROOM_SEAL_KEY, else the key file (made, mode 0600, when `create`)."""
    return load_hex_key(key_file, env=SEAL_KEY_ENV, what="seal key", create=create)


def _mac(record: dict[str, Any], key: bytes) -> str:
    body = {k: v for k, v in record.items() if k != SEAL_FIELD}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def seal(record: dict[str, Any], key: bytes) -> dict[str, Any]:
    """The record with its seal."""
    return {**record, SEAL_FIELD: _mac(record, key)}


def verified(record: dict[str, Any], key: bytes, *, what: str) -> dict[str, Any]:
    """The record (without its seal) if the seal verifies; SealError otherwise."""
    given = record.get(SEAL_FIELD)
    if not isinstance(given, str) or not hmac.compare_digest(given, _mac(record, key)):
        raise SealError(f"{what}: seal does not verify (edited, or sealed with another key)")
    return {k: v for k, v in record.items() if k != SEAL_FIELD}


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
