"""Where records come from: a local path or an `s3://` / `gs://` URI, one file or a folder of parts.

Everything goes through `pyarrow.fs`, so object stores are read as streams with no local copy.
Credentials and endpoints come from the usual environment (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL,
GOOGLE_APPLICATION_CREDENTIALS, ...) or from URI query options (`?endpoint_override=...`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from strongroom.errors import RecordError
from strongroom.offline import AIRGAP_ENV

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
            from pathlib import Path

            return pafs.LocalFileSystem(), str(Path(uri).resolve())
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
    try:
        info = filesystem.get_file_info(path)
    except (pa.ArrowException, OSError) as error:
        raise RecordError(f"cannot reach storage ({type(error).__name__})", path=uri) from None
    if info.type == pafs.FileType.NotFound:
        raise RecordError("file not found", path=uri)
    if info.type == pafs.FileType.File:
        return [_source(filesystem, path, uri, fmt)]
    selector = pafs.FileSelector(path, recursive=False)
    names = sorted(
        i.path
        for i in filesystem.get_file_info(selector)
        if i.type == pafs.FileType.File and (fmt or format_of(i.path))
    )
    if not names:
        raise RecordError("folder holds no .csv, .parquet or .jsonl file", path=uri)
    parts = [
        _source(filesystem, n, f"{uri.rstrip('/')}/{PurePosixPath(n).name}", fmt) for n in names
    ]
    formats = {p.format for p in parts}
    if len(formats) > 1:
        raise RecordError(f"folder mixes formats {sorted(formats)}; use one", path=uri)
    return parts


def _source(filesystem: pafs.FileSystem, path: str, display: str, fmt: str | None) -> SourceFile:
    found = fmt or format_of(path)
    if found not in _ENDINGS:
        raise RecordError(
            "unknown file type (expected .csv, .tsv, .parquet or .jsonl, optionally .gz; "
            "or pass the format)",
            path=display,
        )
    return SourceFile(filesystem, path, display, found)
