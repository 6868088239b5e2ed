"""Where records come from: a local path or an `s3://` / `gs://` URI, one file or a folder of parts.

Everything goes through `pyarrow.fs`, so object stores are read as streams with no local copy.
Credentials and endpoints come from the usual environment (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL,
GOOGLE_APPLICATION_CREDENTIALS, ...) or from URI query options (`?endpoint_override=...`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from strongroom.errors import RecordError, capped
from strongroom.offline import AIRGAP_ENV

log = logging.getLogger(__name__)
ALLOWED_HOSTS_ENV = "STRONGROOM_ALLOWED_HOSTS"  # comma-separated: in-network object stores

_ENDINGS = {
    "parquet": (".parquet", ".pq"),
    "jsonl": (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz"),
    "csv": (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz"),
}


@dataclass(frozen=True)
class SourceFile:
    """One file to read: its filesystem, its path there, and how to name it in messages."""

    filesystem: pafs.FileSystem
    path: str
    display: str  # the user's URI, or URI + part name for a folder
    format: str  # csv | parquet | jsonl

    def open_stream(self) -> pa.NativeFile:
        """A sequential stream, gzip decompressed when the name ends in .gz."""
        compression = "gzip" if self.path.endswith(".gz") else None
        return self.filesystem.open_input_stream(self.path, compression=compression)

    def sha256(self, chunk: int = 1 << 20) -> str:
        """Fingerprint of the stored bytes, read as a stream (memory: one chunk)."""
        digest = hashlib.sha256()
        with self.filesystem.open_input_stream(self.path, compression=None) as stream:
            while block := stream.read(chunk):
                digest.update(block)
        return digest.hexdigest()


def format_of(name: str) -> str | None:
    lowered = name.lower()
    for fmt, endings in _ENDINGS.items():
        if lowered.endswith(endings):
            return fmt
    return None


def _filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    try:
        return pafs.FileSystem.from_uri(uri)
    except (pa.ArrowException, ValueError, OSError) as error:
        # from_uri rejects relative local paths: resolve those against the working directory.
        if "://" not in uri:
            # Made absolute, not resolved: checked_local_path resolves symlinks and says so.
            return pafs.LocalFileSystem(), os.path.abspath(uri)
        raise RecordError(
            f"cannot open storage ({type(error).__name__})", path=display_name(uri)
        ) from None


def _endpoint_host(uri: str) -> str | None:
    """The host an object-store URI would connect to, when one is configured."""
    query = parse_qs(urlsplit(uri).query)
    if endpoint := (query.get("endpoint_override") or [None])[0]:
        return urlsplit(endpoint if "://" in endpoint else f"//{endpoint}").hostname
    scheme = urlsplit(uri).scheme
    env = {"s3": "AWS_ENDPOINT_URL", "gs": "STORAGE_EMULATOR_HOST"}.get(scheme, "")
    if endpoint := os.environ.get(f"{env}_S3" if scheme == "s3" else "") or os.environ.get(env):
        return urlsplit(endpoint if "://" in endpoint else f"//{endpoint}").hostname
    return None


def check_airgap(uri: str) -> None:
    """Under STRONGROOM_AIRGAP=1, an object store must be on this machine or an allowed host.

    pyarrow's S3 and GCS clients connect from native code, out of reach of the Python socket
    guard in strongroom.offline, so the URI is checked here before any connection is made.
    """
    if os.environ.get(AIRGAP_ENV) != "1" or "://" not in uri or uri.startswith("file://"):
        return
    host = _endpoint_host(uri)
    allowed = {h.strip() for h in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if h.strip()}
    if host is not None and (host in allowed or _is_loopback(host)):
        return
    raise RecordError(
        f"air gap: this object store would be reached at {host or 'its public cloud endpoint'}; "
        f"point the URI at your own store (endpoint_override=, AWS_ENDPOINT_URL) and list its "
        f"host in {ALLOWED_HOSTS_ENV}",
        path=display_name(uri),
    )


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def display_name(uri: str) -> str:
    """The URI without its query options: endpoints are noise in reports and messages."""
    return uri.partition("?")[0]


def resolve_sources(uri: str, fmt: str | None = None) -> list[SourceFile]:
    """The files behind `uri`: the file itself, or every data file in the folder (sorted).

    `fmt` overrides the format that the file endings would give (csv | parquet | jsonl).
    """
    check_airgap(uri)
    filesystem, path = _filesystem(uri)
    uri = display_name(uri)
    named = path  # the name the user gave: its ending gives the format, even through a symlink
    if isinstance(filesystem, pafs.LocalFileSystem):
        path = checked_local_path(path, uri)
    try:
        info = filesystem.get_file_info(path)
    except (pa.ArrowException, OSError) as error:
        raise RecordError(f"cannot reach storage ({type(error).__name__})", path=uri) from None
    if info.type == pafs.FileType.NotFound:
        raise RecordError("file not found", path=uri)
    if info.type == pafs.FileType.File:
        return [_source(filesystem, path, uri, fmt, named=named)]
    selector = pafs.FileSelector(path, recursive=False)
    names = sorted(
        i.path
        for i in filesystem.get_file_info(selector)
        if i.type == pafs.FileType.File and (fmt or format_of(i.path))
    )
    if not names:
        raise RecordError("folder holds no .csv, .parquet or .jsonl file", path=uri)
    parts = []
    for name in names:
        display = f"{uri.rstrip('/')}/{PurePosixPath(name).name}"
        local = isinstance(filesystem, pafs.LocalFileSystem)
        read = checked_local_path(name, display) if local else name
        parts.append(_source(filesystem, read, display, fmt, named=name))
    formats = {p.format for p in parts}
    if len(formats) > 1:
        raise RecordError(f"folder mixes formats {sorted(formats)}; use one", path=uri)
    return parts


def _source(
    filesystem: pafs.FileSystem, path: str, display: str, fmt: str | None, *, named: str
) -> SourceFile:
    found = fmt or format_of(named)
    if found not in _ENDINGS:
        raise RecordError(
            "unknown file type (expected .csv, .tsv, .parquet or .jsonl, optionally .gz; "
            "or pass the format)",
            path=display,
        )
    return SourceFile(filesystem, path, display, found)


# Kernel and device trees: their "files" are live state (/proc/self/environ, /dev/zero), never
# records, and reading one can hang, never end, or put secrets in the output.
_REFUSED_TREES = ("/proc", "/sys", "/dev")


def _kind(mode: int) -> str:
    """What a non-regular file is, in words, for the message that refuses it."""
    kinds = (
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((word for test, word in kinds if test(mode)), "not a regular file")


def checked_local_path(path: str, display: str) -> str:
    """The path to read for a local records path: its symlinks resolved, the target checked.

    Records must be regular files or folders of them. A symlink is followed, but the target is
    named (in a warning, and in any error) so that a link to /etc/shadow is not read unnoticed;
    devices, FIFOs, sockets and /proc, /sys, /dev are refused before anything is opened.
    """
    given = os.path.abspath(path)
    target = os.path.realpath(given)
    via = f" (a symlink, resolved to {target})" if target != given else ""
    if via:
        log.warning("%s is reached through a symlink: reading %s", display, target)
    if any(target == tree or target.startswith(tree + "/") for tree in _REFUSED_TREES):
        raise RecordError(
            capped(f"not a records file: {target} is a system path{via}"), path=display
        )
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        raise RecordError(capped(f"file not found{via}"), path=display) from None
    except OSError as error:
        raise RecordError(
            capped(f"cannot read the path ({type(error).__name__}){via}"), path=display
        ) from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise RecordError(
            capped(f"not a records file: {_kind(mode)}, not a regular file or folder{via}"),
            path=display,
        )
    return target
