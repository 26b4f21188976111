"""The per-request deadline is kept by ONE watchdog thread, not a timer thread per request."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from provisioner.client.bounded import BoundedAdapter, HttpLimits, LimitExceeded, send
from provisioner.emulator import EmulatorServer


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", BoundedAdapter())
    return session


def test_many_requests_share_one_watchdog_thread() -> None:
    with EmulatorServer(port=0) as server:
        session = _session()
        for _ in range(50):
            assert send(session, "GET", server.url + "/_emulator/stats", limits=HttpLimits(deadline=30)).ok
        names = [t.name for t in threading.enumerate()]
        assert names.count("provisioner-http-deadline") == 1


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
    with pytest.raises(LimitExceeded):
        send(
            _session(),
            "GET",
            f"http://127.0.0.1:{listener.getsockname()[1]}/",
            limits=HttpLimits(deadline=0.5),
            timeout=30,
        )
    assert time.monotonic() - started < 5
    for conn in accepted:
        conn.close()
    listener.close()
