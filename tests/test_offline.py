import os
import socket
import subprocess
import sys

import pytest

from strongroom.offline import OutboundConnectionBlocked, _is_local


def test_loopback_is_local_and_the_rest_is_not():
    assert _is_local(("127.0.0.1", 80)) and _is_local(("::1", 80, 0, 0))
    assert not _is_local(("192.0.2.1", 80)) and not _is_local(("example.org", 443))


def test_airgap_blocks_outbound_connections_in_a_child_process():
    code = (
        "import socket, strongroom\n"
        "s = socket.socket()\n"
        "try:\n    s.connect(('192.0.2.1', 9))\nexcept Exception as e:\n    print(type(e).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"STRONGROOM_AIRGAP": "1", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.strip() == OutboundConnectionBlocked.__name__


def test_telemetry_is_off():
    import os

    import strongroom  # noqa: F401

    assert os.environ["GX_ANALYTICS_ENABLED"] == "false"
    assert os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] == ""


@pytest.fixture(autouse=True)
def _restore_socket(monkeypatch):
    from strongroom import offline

    monkeypatch.setattr(socket.socket, "connect", socket.socket.connect)
    monkeypatch.setattr(socket.socket, "connect_ex", socket.socket.connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)
    monkeypatch.setattr(offline, "_allowed", offline._allowed)


def test_the_allow_list_takes_names_suffixes_addresses_and_networks():
    from strongroom.offline import AllowList

    allowed = AllowList.parse(
        ["mlflow.strongroom.svc.cluster.local", "*.minio.svc", "10.96.0.0/12", "192.0.2.7", " "]
    )
    assert allowed.allows_name("MLflow.strongroom.svc.cluster.local.")
    assert allowed.allows_name("store.minio.svc") and not allowed.allows_name("minio.svc.evil.org")
    assert not allowed.allows_name("strongroom.svc.cluster.local")
    assert allowed.allows_address("10.96.0.50") and allowed.allows_address("192.0.2.7")
    assert not allowed.allows_address("10.112.0.1") and not allowed.allows_address("192.0.2.8")


def _serve_once() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    return server, server.getsockname()[1]


def test_airgap_lets_listed_in_cluster_services_through_and_refuses_the_rest(monkeypatch):
    """Connections go through socket.connect as the clients make them (resolve, then connect to
    the address); a listed name is reached through the address it resolved to."""
    from strongroom import offline

    monkeypatch.setenv(offline.ALLOWED_HOSTS_ENV, "10.96.0.0/12")
    monkeypatch.setenv(offline.AIRGAP_ENV, "0")
    offline.enforce_airgap(allowed=["localtest.internal"])
    assert os.environ[offline.ALLOWED_HOSTS_ENV] == "10.96.0.0/12,localtest.internal"  # children
    assert offline._is_allowed(("10.96.0.50", 5000))  # a ClusterIP in the listed range
    assert offline._is_allowed(("localtest.internal", 443))  # a name given to connect
    for refused in [("10.112.0.1", 80), ("192.0.2.1", 80), ("example.org", 443)]:
        with socket.socket() as s, pytest.raises(OutboundConnectionBlocked, match="ALLOWED_HOSTS"):
            s.connect(refused)
    # a name resolved through getaddrinfo: its address is allowed afterwards, not before
    monkeypatch.setattr(offline, "_original_getaddrinfo", _fake_resolver({"localtest.internal": "198.51.100.9", "other.internal": "198.51.100.10"}))  # fmt: skip
    assert not offline._is_allowed(("198.51.100.9", 443))
    socket.getaddrinfo("localtest.internal", 443)
    socket.getaddrinfo("other.internal", 443)
    assert offline._is_allowed(("198.51.100.9", 443))
    assert not offline._is_allowed(("198.51.100.10", 443))  # resolved, but not a listed name
    server, port = _serve_once()
    with server, socket.socket() as s:
        s.connect(("127.0.0.1", port))  # loopback stays open


def _fake_resolver(table: dict[str, str]):
    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]

    return resolve


def test_the_allow_list_reaches_child_processes_from_the_environment():
    code = (
        "import socket, strongroom\n"
        "from strongroom import offline\n"
        "print(offline._is_allowed(('10.96.0.50', 5000)), offline._is_allowed(('10.200.0.1', 80)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"STRONGROOM_AIRGAP": "1", "STRONGROOM_ALLOWED_HOSTS": "10.96.0.0/16", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.split() == ["True", "False"], out.stderr[-1000:]
