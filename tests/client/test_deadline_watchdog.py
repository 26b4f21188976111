"""The per-request deadline is kept by ONE watchdog thread, not a timer thread per request."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from provisioner.client.bounded import HttpLimits, LimitExceeded
from provisioner.client.transport import Transport
from provisioner.emulator import EmulatorServer


def test_many_requests_share_one_watchdog_thread() -> None:
    with EmulatorServer(port=0) as server:
        transport = Transport(server.url, trust_env=False)
        for _ in range(50):
            got = transport.send("GET", "/_emulator/stats", headers={}, limits=HttpLimits(deadline=30))
            assert got.status == 200
        names = [t.name for t in threading.enumerate()]
        assert names.count("provisioner-http-deadline") == 1
        transport.close()


def test_the_shared_watchdog_still_ends_a_stalled_response() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted: list[socket.socket] = []

    def serve() -> None:
        conn, _ = listener.accept()
        accepted.append(conn)
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")  # then nothing: stalled

    threading.Thread(target=serve, daemon=True).start()
    started = time.monotonic()
    transport = Transport(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=30, trust_env=False)
    with pytest.raises(LimitExceeded):
        transport.send("GET", "/", headers={}, limits=HttpLimits(deadline=0.5))
    assert time.monotonic() - started < 5
    for conn in accepted:
        conn.close()
    listener.close()
