"""The HTTP side: a threaded HTTP/1.1 keep-alive server on 127.0.0.1, and ``EmulatorServer``."""

from __future__ import annotations

import os
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .app import App
from .backend import Backend
from .config import Config
from .store import Store
from .wire import Headers, Request, finalize

_MAX_HEADERS = 100
_DATE: tuple[int, str] = (0, "")  # (second, Date header) of the last response
_MAX_LINE = 65536


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    app: App
    base_url: str


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AICEmulator/1.0"
    disable_nagle_algorithm = True  # a response is one write, but error answers (send_error) are two
    server: _HTTPServer
    raw_requestline: bytes
    request_headers: Headers
    _headers_buffer: list[bytes]  # the base class's buffer of the response head (send_header)

    def log_message(self, format: str, *args: Any) -> None:  # quiet; stats are the record
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, formatted once a second (the email package's formatting cost more than
        the rest of writing a response)."""
        global _DATE
        if timestamp is not None:
            return super().date_time_string(timestamp)
        now = int(time.time())
        second, text = _DATE  # one tuple: a thread never sees one second with another's text
        if second != now:
            text = super().date_time_string(now)
            _DATE = (now, text)
        return text

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        """Answer a request that cannot be read, then read (and drop) what the client still sends for a
        moment before closing: closing with unread input resets the connection, and the client may
        lose the answer (a "lingering close", as web servers do)."""
        self.send_error(status, message)
        self.wfile.flush()
        try:
            self.connection.settimeout(0.2)
            for _ in range(64):
                if not self.connection.recv(65536):
                    break
        except OSError:
            pass

    def parse_request(self) -> bool:
        """The request line and headers, without the ``email`` package the standard handler parses
        headers with (a fifth of the emulator's CPU per request under an apply). HTTP/1.0 and 1.1 only;
        at most 100 header lines of 64 KiB each, as the standard handler allows."""
        self.command = None  # type: ignore[assignment]
        self.request_version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = "HTTP/1.1"  # answer with a status line, not HTTP/0.9's bare body
            self._refuse(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline!r})")
            return False
        self.command, path, self.request_version = words
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        headers = Headers()
        for _ in range(_MAX_HEADERS + 1):
            line = self.rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            name, colon, value = line.decode("iso-8859-1").partition(":")
            if not colon or not name.strip():
                self._refuse(HTTPStatus.BAD_REQUEST, "Bad header line")
                return False
            headers[name.strip().lower()] = value.strip()
        else:
            self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
            return False
        self.request_headers = headers
        self.headers = headers  # type: ignore[assignment]  # read by the base class only through .get
        connection = (headers.get("Connection") or "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        if (headers.get("Expect") or "").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def _read_body(self) -> bytes:
        if "chunked" in (self.request_headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.request_headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        body = self._read_body()
        parts = urlsplit(self.path)
        request = Request(self.command, parts.path, parts.query, self.request_headers, body, self.server.base_url)
        response = self.server.app.handle(request)
        if response is None:  # injected drop: close without a response
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        payload = response.encode()
        self.send_response(response.status)
        for name, value in finalize(response, request.headers).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        # Head and body in one write: each socket write gives up the GIL, and under eight parallel
        # requests getting it back again was a good part of every response's time.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD" and payload:
            self._headers_buffer.append(payload)
        self.flush_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class EmulatorServer:
    """A running emulated tenant on ``127.0.0.1``.

    ``state=None`` keeps everything in memory; a directory holds ``emulator.db`` and the service
    account's private JWK (``service-account.json``, mode 0600). Use as a context manager, or call
    :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        port: int = 0,
        state: str | os.PathLike[str] | None = None,
        latency_ms: int = 0,
        realms: tuple[str, ...] | list[str] = ("alpha", "bravo"),
        ai_agents: bool = True,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.state = os.fspath(state) if state is not None else None
        if self.state is not None:
            os.makedirs(self.state, mode=0o700, exist_ok=True)
            os.chmod(self.state, 0o700)  # it holds client secrets and the service-account key
        self.config = Config(options)
        self.store = Store(os.path.join(self.state, "emulator.db") if self.state else None)
        self.backend = Backend(self.store, self.config, tuple(realms), ai_agents)
        self.app = App(self.backend, latency_ms)
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.app = self.app
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._httpd.base_url = self.url
        jwk_file = self.backend.auth.write_jwk_file(self.state) if self.state else None
        self.service_account: dict[str, Any] = {
            "id": self.backend.auth.service_account_id,
            "jwk": dict(self.backend.auth.service_account_jwk),
            "jwkFile": jwk_file,
        }
        self._thread: threading.Thread | None = None

    @property
    def token_url(self) -> str:
        return self.url + "/am/oauth2/access_token"

    def start(self) -> EmulatorServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="emulator", kwargs={"poll_interval": 0.1}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()
        self.store.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
