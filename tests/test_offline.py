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
def _restore_socket():
    connect = socket.socket.connect
    yield
    socket.socket.connect = connect
