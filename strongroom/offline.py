"""Air-gap settings: no telemetry, no downloads, and (optionally) a hard block on outbound sockets
except to an allow-list of in-cluster services.

Hospitals and banks run strongroom without internet access. Libraries that try to reach out
(Great Expectations analytics, tldextract's suffix list, MLflow's telemetry, Hugging Face hubs) are
switched off through their environment variables before they are imported, which is why
`strongroom/__init__.py` calls `configure_offline()` first thing.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Set only when the user has not chosen otherwise: a user may point MLflow or GX somewhere on purpose.
_OFFLINE_ENV = {
    "GX_ANALYTICS_ENABLED": "false",  # Great Expectations usage statistics
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",  # use tldextract's bundled snapshot, never fetch
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "KFP_DISABLE_EXECUTION_CACHING_BY_DEFAULT": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # the gate's download: no bar in task logs
}

AIRGAP_ENV = "STRONGROOM_AIRGAP"  # "1": refuse every outbound connection not loopback or allowed
# Comma-separated in-cluster services the air gap lets through (MLflow, the object store, the KFP
# API): host names ("mlflow.strongroom.svc.cluster.local"), domain suffixes ("*.strongroom.svc"),
# addresses and CIDRs ("10.96.0.0/12"). The cluster wiring sets it on every pod
# (pipelines/cluster_settings.py `allowed_hosts`); for `strongroom run` set it in the shell.
ALLOWED_HOSTS_ENV = "STRONGROOM_ALLOWED_HOSTS"


class OutboundConnectionBlocked(ConnectionRefusedError):
    """Raised when code tries to reach an address that is neither loopback nor allowed while the
    air gap is enforced."""


def configure_offline() -> None:
    """Set the offline environment and, when STRONGROOM_AIRGAP=1, install the socket guard."""
    for name, value in _OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    if os.environ.get(AIRGAP_ENV) == "1":
        enforce_airgap()


@dataclass(frozen=True)
class AllowList:
    """In-cluster destinations: exact host names, `*.suffix` domains, addresses and networks."""

    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        names, suffixes, networks = set(), [], []
        for entry in (e.strip().lower().rstrip(".") for e in entries):
            if not entry:
                continue
            if entry.startswith("*."):
                suffixes.append(entry[1:])  # "*.svc.local" -> ".svc.local"
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry)
        return cls(frozenset(names), tuple(suffixes), tuple(networks))

    @classmethod
    def from_env(cls) -> AllowList:
        return cls.parse(os.environ.get(ALLOWED_HOSTS_ENV, "").split(","))

    def allows_name(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.names or any(host.endswith(s) for s in self.suffixes)

    def allows_address(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%")[0])
        return any(ip in network for network in self.networks)


# The air gap in force in this process: its allow-list and the addresses its names resolved to.
_allowed = AllowList()
_resolved: set[str] = set()


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths and the like never leave the machine
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: resolving it already means going out


def _is_allowed(address: object) -> bool:
    """Loopback, an allowed address or network, an allowed name, or an address that an allowed
    name resolved to in this process."""
    if _is_local(address):
        return True
    host = str(address[0])  # type: ignore[index]
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return _allowed.allows_name(host)
    return host.split("%")[0] in _resolved or _allowed.allows_address(host)


_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_original_getaddrinfo = socket.getaddrinfo


def _refused(address: object) -> OutboundConnectionBlocked:
    return OutboundConnectionBlocked(
        f"strongroom air gap: outbound connection to {address!r} refused; an in-cluster service "
        f"may be listed in {ALLOWED_HOSTS_ENV}"
    )


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_allowed(address):
        raise _refused(address)
    _original_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_allowed(address):
        raise _refused(address)
    return _original_connect_ex(self, address)


def _recording_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    """getaddrinfo that remembers the addresses of allowed names (clients resolve a name, then
    connect to the address: the connection is allowed because the name was)."""
    found = _original_getaddrinfo(host, *args, **kwargs)
    if isinstance(host, str) and _allowed.allows_name(host):
        _resolved.update(str(info[4][0]).split("%")[0] for info in found)
    return found


def enforce_airgap(allowed: Iterable[str] | None = None) -> None:
    """Refuse, in this process, every socket connection that is neither loopback nor allowed.

    `allowed` (host names, `*.suffix`, addresses, CIDRs) is added to $STRONGROOM_ALLOWED_HOSTS;
    both are written back to the environment, so child processes (the kfp local runner's tasks)
    enforce the same air gap. Code that connects from native libraries (pyarrow's S3 client) is
    out of this guard's reach: records/sources.py checks object store URIs itself, and on a
    cluster the namespace's NetworkPolicy (k8s/) is the boundary that holds for everything.
    """
    global _allowed
    entries = [e for e in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if e.strip()]
    entries += [e for e in (allowed or ()) if e.strip() and e not in entries]
    _allowed = AllowList.parse(entries)
    _resolved.clear()
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _recording_getaddrinfo
    os.environ[AIRGAP_ENV] = "1"  # inherited by the kfp local runner's subprocesses
    if entries:
        os.environ[ALLOWED_HOSTS_ENV] = ",".join(e.strip() for e in entries)
