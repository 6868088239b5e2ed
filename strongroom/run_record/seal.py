"""Seals: a record the training pipeline writes cannot be edited afterwards without it showing.

A seal is an Ed25519 signature over the record's canonical JSON. The *seal key* (private) belongs
to the pipeline's identity (a Kubernetes Secret, or <run dir>/seal.key locally), apart from the
pseudonymisation key: training and registration sign with it. Everyone else, the gate and a
privacy officer running `strongroom gate` included, verifies with the public key
(<seal key>.pub, or $STRONGROOM_SEAL_PUBLIC_KEY), which cannot sign. So whoever can edit MLflow
tags or artifacts, or runs the gate, cannot make a record that verifies.
Tests: tests/run_record/test_seal.py.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from strongroom.errors import StrongroomError
from strongroom.keys import KEY_BYTES, load_hex_key

SEAL_KEY_ENV = "STRONGROOM_SEAL_KEY"  # hex Ed25519 private key; on Kubeflow from a Secret
SEAL_PUBLIC_KEY_ENV = "STRONGROOM_SEAL_PUBLIC_KEY"  # hex public key: all a verifier needs
SEAL_FIELD = "seal"
ALGORITHM = "ed25519"


class SealError(StrongroomError):
    """A sealed record does not verify (edited, or sealed with another key)."""


def public_key_path(key_file: str | Path) -> Path:
    """Where the public half of a seal key file is written: beside it, `.pub` added."""
    return Path(f"{key_file}.pub")


def load_signing_key(key_file: str | Path | None, *, create: bool = False) -> Ed25519PrivateKey:
    """$STRONGROOM_SEAL_KEY, else the key file (made, mode 0600, when `create`). The public key
    is written beside a key file when it is not there yet."""
    raw = load_hex_key(key_file, env=SEAL_KEY_ENV, what="seal key", create=create)
    if len(raw) != KEY_BYTES:
        raise StrongroomError(f"seal key: an Ed25519 key has exactly {KEY_BYTES} bytes")
    key = Ed25519PrivateKey.from_private_bytes(raw)
    if key_file and not os.environ.get(SEAL_KEY_ENV):
        public = public_key_path(key_file)
        if not public.exists():
            public.write_text(_public_hex(key.public_key()))
    return key


def load_verify_key(public_key_file: str | Path | None) -> Ed25519PublicKey:
    """$STRONGROOM_SEAL_PUBLIC_KEY, else the public key file."""
    raw = load_hex_key(public_key_file, env=SEAL_PUBLIC_KEY_ENV, what="seal public key",
                       secret=False)  # fmt: skip
    if len(raw) != KEY_BYTES:
        raise StrongroomError(f"seal public key: an Ed25519 key has exactly {KEY_BYTES} bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def _public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _canonical(record: dict[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k != SEAL_FIELD}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def seal(record: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The record with its seal (the signer's public key named, for people: not trusted)."""
    signature = key.sign(_canonical(record)).hex()
    return {
        **record,
        SEAL_FIELD: {
            "algorithm": ALGORITHM,
            "signature": signature,
            "public_key": _public_hex(key.public_key()),
        },
    }


def verified(record: dict[str, Any], key: Ed25519PublicKey, *, what: str) -> dict[str, Any]:
    """The record (without its seal) if its signature verifies under `key`; SealError otherwise."""
    given = record.get(SEAL_FIELD)
    try:
        if not isinstance(given, dict) or given.get("algorithm") != ALGORITHM:
            raise InvalidSignature
        key.verify(bytes.fromhex(str(given["signature"])), _canonical(record))
    except (InvalidSignature, ValueError, KeyError):
        raise SealError(
            f"{what}: seal does not verify (edited, or sealed with another key)"
        ) from None
    return {k: v for k, v in record.items() if k != SEAL_FIELD}


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
