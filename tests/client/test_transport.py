"""The HTTP transport on real sockets: keep-alive, servers that close idle connections, gzip and its
cap, cut-off bodies, TLS verification against a CA bundle and the ``https_proxy`` tunnel."""

from __future__ import annotations

import datetime
import gzip
import http.client
import ipaddress
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from provisioner.client import transport as transport_module
from provisioner.client.bounded import HttpLimits, LimitExceeded
from provisioner.client.retry import AMBIGUOUS, CONNECT
from provisioner.client.transport import NoResponse, Transport

LIMITS = HttpLimits(deadline=10)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    reply: Callable[[BaseHTTPRequestHandler], None]
    peers: list[tuple[str, int]]

    def log_message(self, *args: Any) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        type(self).peers.append(self.client_address)
        type(self).reply(self)

    do_GET = do_POST = do_PUT = _any


def _send(handler: BaseHTTPRequestHandler, body: bytes, **headers: str) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    if "Transfer_Encoding" not in headers:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def _server(reply: Callable[[BaseHTTPRequestHandler], None], context: ssl.SSLContext | None = None) -> Iterator[Any]:
    handler = type("Handler", (_Handler,), {"reply": staticmethod(reply), "peers": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, handler
    finally:
        server.shutdown()
        server.server_close()


def _url(server: Any, scheme: str = "http", host: str = "127.0.0.1") -> str:
    return f"{scheme}://{host}:{server.server_address[1]}"


def test_requests_reuse_one_keep_alive_connection() -> None:
    with _server(lambda h: _send(h, b'{"ok": true}')) as (server, handler):
        transport = Transport(_url(server), trust_env=False)
        for _ in range(20):
            got = transport.send("GET", "/x", headers={}, limits=LIMITS)
            assert (got.status, got.content) == (200, b'{"ok": true}')
        transport.close()
    assert len(handler.peers) == 20
    assert len(set(handler.peers)) == 1  # one client port: one connection


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """A server (or load balancer) that drops idle keep-alive connections: the next request, even a
    create, goes out on a fresh connection instead of failing as 'ambiguous'."""

    def reply(h: BaseHTTPRequestHandler) -> None:
        _send(h, b"{}")
        h.close_connection = False

    with _server(reply) as (server, handler):
        transport = Transport(_url(server), trust_env=False)
        transport.send("GET", "/x", headers={}, limits=LIMITS)
        for conn in transport._idle:  # the server's side goes away: the socket reads EOF
            assert conn.sock is not None
            conn.sock.shutdown(socket.SHUT_RD)
        got = transport.send("PUT", "/y", headers={"If-None-Match": "*"}, body=b"{}", limits=LIMITS)
        assert got.status == 200
        transport.close()
    assert len(set(handler.peers)) == 2


def test_gzip_is_decoded_and_chunked_bodies_are_joined() -> None:
    payload = b'{"result": [' + b",".join(b'{"n": %d}' % i for i in range(2000)) + b"]}"

    def reply(h: BaseHTTPRequestHandler) -> None:
        if h.path == "/gzip":
            _send(h, gzip.compress(payload), Content_Encoding="gzip")
        else:
            h.send_response(200)
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            for start in range(0, len(payload), 1000):
                piece = payload[start : start + 1000]
                h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            h.wfile.write(b"0\r\n\r\n")

    with _server(reply) as (server, _):
        transport = Transport(_url(server), trust_env=False)
        assert transport.send("GET", "/gzip", headers={}, limits=LIMITS).content == payload
        assert transport.send("GET", "/chunked", headers={}, limits=LIMITS).content == payload
        transport.close()


def test_a_gzip_bomb_counts_at_its_decoded_size() -> None:
    bomb = gzip.compress(b"0" * 5_000_000)  # about 5 KB on the wire
    with _server(lambda h: _send(h, bomb, Content_Encoding="gzip")) as (server, _):
        transport = Transport(_url(server), trust_env=False)
        with pytest.raises(LimitExceeded, match="larger than 100000 bytes"):
            transport.send("GET", "/", headers={}, limits=HttpLimits(deadline=10, max_bytes=100_000))
        transport.close()


def test_a_body_shorter_than_its_content_length_is_cut_off() -> None:
    def reply(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        h.wfile.write(b'{"partial"')
        h.close_connection = True

    with _server(reply) as (server, _):
        transport = Transport(_url(server), trust_env=False)
        with pytest.raises(NoResponse) as caught:
            transport.send("GET", "/", headers={}, limits=LIMITS)
        transport.close()
    assert (caught.value.kind, caught.value.cause) == (AMBIGUOUS, "the response was cut off")


def test_connection_refused_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NoResponse) as caught:
        Transport(f"http://127.0.0.1:{port}", trust_env=False).send("GET", "/", headers={}, limits=LIMITS)
    assert (caught.value.kind, str(caught.value)) == (CONNECT, "could not connect")


# -- TLS and the proxy tunnel ------------------------------------------------------------------------


def _certificate(subject: str, key: Any, issuer: x509.Name, issuer_key: Any, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A private CA (its bundle path) and a server context with a certificate it signed."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provisioner test CA")])
    ca_cert = _certificate("provisioner test CA", ca_key, ca_name, ca_key, ca=True)
    server_cert = _certificate("localhost", server_key, ca_name, ca_key, ca=False)
    bundle = folder / "ca.pem"
    bundle.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(
        server_cert.public_bytes(serialization.Encoding.PEM)
        + server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem")
    return bundle, context


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_tls_is_verified_against_the_given_ca_bundle(pki: tuple[Path, ssl.SSLContext], no_proxy_env: None) -> None:
    bundle, context = pki
    with _server(lambda h: _send(h, b"{}"), context) as (server, _):
        url = _url(server, "https", "localhost")
        assert Transport(url, verify=str(bundle)).send("GET", "/", headers={}, limits=LIMITS).status == 200
        with pytest.raises(NoResponse) as caught:  # the default trust store does not know this CA
            Transport(url).send("GET", "/", headers={}, limits=LIMITS)
    assert caught.value.kind == "tls" and "TLS verification failed" in str(caught.value)


def test_https_goes_through_the_proxy_tunnel_with_its_credentials(
    pki: tuple[Path, ssl.SSLContext], no_proxy_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle, context = pki
    connects: list[tuple[str, str | None]] = []

    def tunnel(client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += client.recv(4096)
        lines = head.decode().split("\r\n")
        auth = next((line.split(": ", 1)[1] for line in lines if line.lower().startswith("proxy-authorization")), None)
        connects.append((lines[0], auth))
        host, port = lines[0].split()[1].rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sockets = [client, upstream]
        while True:
            readable, _, _ = select.select(sockets, [], [], 5)
            if not readable:
                break
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    client.close()
                    upstream.close()
                    return
                (upstream if sock is client else client).sendall(data)

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=tunnel, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    monkeypatch.setenv("https_proxy", f"http://user:p%40ss@127.0.0.1:{listener.getsockname()[1]}")
    with _server(lambda h: _send(h, b'{"via": "tunnel"}'), context) as (server, _):
        url = _url(server, "https", "localhost")
        got = Transport(url, verify=str(bundle)).send("GET", "/", headers={}, limits=LIMITS)
        monkeypatch.setenv("no_proxy", "localhost")
        direct = Transport(url, verify=str(bundle)).send("GET", "/", headers={}, limits=LIMITS)
    listener.close()
    assert got.content == b'{"via": "tunnel"}' and direct.status == 200
    assert connects == [(f"CONNECT localhost:{server.server_address[1]} HTTP/1.0", "Basic dXNlcjpwQHNz")]


def _raw_server(answer: bytes) -> tuple[socket.socket, str]:
    """A one-shot server that reads one request and writes ``answer`` as it is, then closes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(answer)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_response_headers_are_read_as_sent_after_a_100_continue() -> None:
    """The transport reads status and headers itself (not through the email package): interim 100
    responses are skipped, repeated headers kept in order, folded lines joined, names matched in any case."""
    listener, url = _raw_server(
        b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
        b'HTTP/1.1 201 Created\r\nETag: "7"\r\nX-Multi: a\r\nx-multi: b\r\nX-Folded: one\r\n two\r\n'
        b"content-length: 2\r\nConnection: close\r\n\r\n{}"
    )
    got = Transport(url, trust_env=False).send("PUT", "/x", headers={}, body=b"{}", limits=LIMITS)
    listener.close()
    assert (got.status, got.reason, got.content) == (201, "Created", b"{}")
    assert got.header("etag") == '"7"' and got.header("X-FOLDED") == "one two"
    assert [v for k, v in got.headers if k.lower() == "x-multi"] == ["a", "b"]
    assert not any(k == "X-Interim" for k, _ in got.headers)


def test_a_response_with_too_many_headers_is_an_error_not_a_hang() -> None:
    listener, url = _raw_server(b"HTTP/1.1 200 OK\r\n" + b"X-H: v\r\n" * 101 + b"Content-Length: 0\r\n\r\n")
    with pytest.raises(NoResponse) as caught:
        Transport(url, trust_env=False).send("GET", "/", headers={}, limits=LIMITS)
    listener.close()
    assert caught.value.kind == AMBIGUOUS


@pytest.mark.parametrize("connection", [transport_module._HTTPConnection, transport_module._HTTPSConnection])
def test_headers_and_a_body_go_out_in_one_write(connection: type[http.client.HTTPConnection]) -> None:
    """One write per request (the standard library writes the headers and the body apart: two system
    calls, two TLS records, and a small second segment Nagle's algorithm may hold back)."""
    conn = connection("127.0.0.1", 9)
    writes: list[bytes] = []
    conn.sock = SimpleNamespace(sendall=writes.append)
    conn.request("PUT", "/x", body=b'{"a":1}', headers={"Content-Type": "application/json"})
    assert len(writes) == 1
    assert writes[0].startswith(b"PUT /x HTTP/1.1\r\n") and writes[0].endswith(b'\r\n\r\n{"a":1}')
    writes.clear()
    conn = connection("127.0.0.1", 9)
    conn.sock = SimpleNamespace(sendall=writes.append)
    conn.request("GET", "/y")
    assert len(writes) == 1 and writes[0].endswith(b"\r\n\r\n")


def test_a_body_is_received_whole_in_either_write_path() -> None:
    """Small bodies go out with the headers, a body over the one-write size as the standard library
    sends it; the server reads both whole."""
    received: list[bytes] = []

    def reply(h: BaseHTTPRequestHandler) -> None:
        received.append(h.body)  # type: ignore[attr-defined]
        _send(h, b"{}")

    small, large = b'{"k":"' + b"s" * 100 + b'"}', b'{"k":"' + b"l" * (transport_module._ONE_WRITE + 10) + b'"}'
    with _server(reply) as (server, _):
        transport = Transport(_url(server), trust_env=False)
        for body in (small, large, small):
            assert transport.send("PUT", "/x", headers={}, body=body, limits=LIMITS).status == 200
        transport.close()
    assert received == [small, large, small]
