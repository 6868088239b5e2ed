"""Secret keys from the environment or a key file: the pseudonymisation key and the seal key.

One loader for both, so both refuse the same mistakes with a message instead of a traceback: an
empty or short key (an HMAC with an empty key is anyone's to recompute), text that is not hex, a
folder where the file should be, a key file others can read (unless
STRONGROOM_ALLOW_SHARED_KEY_FILES=1, for Secrets mounted with a wider mode: then a warning). A missing file is
made (mode 0600, never overwritten) only where the caller says so, and never where
STRONGROOM_NEVER_MAKE_KEYS=1 (every pod of the compiled pipeline: keys come from Kubernetes
Secrets, and a key made in a pod would die with it, giving each shard or retry its own). Messages
name the file or the variable, never the key. Tests: tests/test_keys.py.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from strongroom.errors import StrongroomError

log = logging.getLogger(__name__)
KEY_BYTES = 32  # 256-bit keys: what we make, and the least we accept
SHARED_KEYS_ENV = "STRONGROOM_ALLOW_SHARED_KEY_FILES"  # "1": a group/other-readable key file warns
NEVER_MAKE_KEYS_ENV = (
    "STRONGROOM_NEVER_MAKE_KEYS"  # "1": a missing key is an error, whatever `create`
)
_MAX_FILE_BYTES = 4096  # a key file is a line of hex, never a large file


def load_hex_key(
    key_file: str | Path | None,
    *,
    env: str,
    what: str,
    create: bool = False,
    secret: bool = True,
) -> bytes:
    """The key in $`env` (hex), else in `key_file` (hex), made when missing if `create`.
    A public key (`secret=False`) may be readable by others."""
    if os.environ.get(env):
        return _parsed(os.environ[env], source=f"${env}", what=what)
    if not key_file:
        raise StrongroomError(f"no {what}: set {env} or pass a key file")
    path = Path(key_file)
    if path.is_dir():
        raise StrongroomError(f"{path}: is a folder, not a {what} file")
    if not path.exists():
        if os.environ.get(NEVER_MAKE_KEYS_ENV) == "1":
            raise StrongroomError(
                f"{path}: {what} file not found, and keys are never made here "
                f"({NEVER_MAKE_KEYS_ENV}=1): create its Kubernetes Secret (docs/operator.md)"
            )
        if not create:
            raise StrongroomError(f"{path}: {what} file not found")
        _make(path)
    if secret and path.stat().st_mode & 0o077:
        if os.environ.get(SHARED_KEYS_ENV) != "1":
            raise StrongroomError(
                f"{path}: {what} file is readable by others: chmod 600 it "
                f"(or set {SHARED_KEYS_ENV}=1 where a mounted Secret cannot be 0600)"
            )
        log.warning("%s: %s file is readable by others (%s=1)", path, what, SHARED_KEYS_ENV)
    with open(path, "rb") as handle:
        raw = handle.read(_MAX_FILE_BYTES + 1)
    if len(raw) > _MAX_FILE_BYTES:
        raise StrongroomError(f"{path}: too large for a {what} file ({KEY_BYTES * 2} hex digits)")
    return _parsed(raw.decode("ascii", errors="replace"), source=str(path), what=what)


def _make(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(KEY_BYTES))


def _parsed(text: str, *, source: str, what: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise StrongroomError(f"{source}: {what} is not hexadecimal") from None
    if len(key) < KEY_BYTES:
        raise StrongroomError(
            f"{source}: {what} has {len(key)} bytes, needs at least {KEY_BYTES} "
            f"({KEY_BYTES * 2} hex digits)"
        )
    return key
