"""The emulator's own request-line and header parsing (it does not use the ``email`` package): bad
input gets the standard HTTP errors, keep-alive and ``Connection: close`` behave as HTTP/1.1 says."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from provisioner.emulator import EmulatorServer


@pytest.fixture(scope="module")
def address():
    with EmulatorServer(port=0) as server:
        parts = urlsplit(server.url)
        yield parts.hostname, parts.port


def _exchange(address, raw: bytes) -> bytes:
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(raw)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


def test_a_malformed_request_line_is_400(address) -> None:
    assert _exchange(address, b"GET\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert _exchange(address, b"GET / HTTP/2.0\r\n\r\n").startswith(b"HTTP/1.1 400")


def test_too_many_or_too_long_headers_are_431(address) -> None:
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(101))
    assert _exchange(address, b"GET /_emulator/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n" + many + b"\r\n").startswith(
        b"HTTP/1.1 431"
    )
    long = b"X-Long: " + b"a" * 70000 + b"\r\n"
    assert _exchange(address, b"GET /_emulator/stats HTTP/1.1\r\n" + long + b"\r\n").startswith(b"HTTP/1.1 431")


def test_a_header_line_without_a_colon_is_400(address) -> None:
    assert _exchange(address, b"GET /_emulator/stats HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n").startswith(b"HTTP/1.1 400")


def test_keep_alive_serves_two_requests_then_close_ends_the_connection(address) -> None:
    one = b"GET /_emulator/stats HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
    last = b"GET /_emulator/stats HTTP/1.1\r\nHOST: 127.0.0.1\r\nConnection: close\r\n\r\n"
    answer = _exchange(address, one + last)  # returns only because the server closes after the second
    assert answer.count(b"HTTP/1.1 200") == 2
