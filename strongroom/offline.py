"""Air-gap settings: no telemetry, no downloads, and (optionally) a hard block on outbound sockets.

Hospitals and banks run strongroom without internet access. Libraries that try to reach out
(Great Expectations analytics, tldextract's suffix list, MLflow's telemetry, Hugging Face hubs) are
switched off through their environment variables before they are imported, which is why
`strongroom/__init__.py` calls `configure_offline()` first thing.
"""

from __future__ import annotations

import ipaddress
import os
import socket

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

AIRGAP_ENV = "STRONGROOM_AIRGAP"  # "1": refuse every outbound connection that is not loopback


class OutboundConnectionBlocked(ConnectionRefusedError):
    """Raised when code tries to reach a non-loopback address while the air gap is enforced."""


def configure_offline() -> None:
    """Set the offline environment and, when STRONGROOM_AIRGAP=1, install the socket guard."""
    for name, value in _OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    if os.environ.get(AIRGAP_ENV) == "1":
        enforce_airgap()


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


_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address):
        raise OutboundConnectionBlocked(f"strongroom air gap: outbound connection to {address!r}")
    _original_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_local(address):
        raise OutboundConnectionBlocked(f"strongroom air gap: outbound connection to {address!r}")
    return _original_connect_ex(self, address)


def enforce_airgap() -> None:
    """Refuse, in this process, every socket connection to a non-loopback address."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    os.environ[AIRGAP_ENV] = "1"  # inherited by the kfp local runner's subprocesses
