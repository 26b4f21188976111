"""A tiny scripted HTTP server on a real loopback socket, for session-level tests.

Not a mock of ``requests``: the client speaks real HTTP to a real server whose answers each test
scripts (status sequences, dropped connections, a JWT-bearer token endpoint). The emulator covers the
API's semantics; this covers transport behaviour the emulator may not offer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DROP = "drop"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


Reply = tuple[int, dict[str, str], Any] | str
Script = Callable[[Seen], Reply]


@dataclass
class ScriptedServer:
    routes: dict[tuple[str, str], Script | list[Reply]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with lock:
                    owner.seen.append(seen)
                    route = owner.routes.get((self.command, parts.path))
                    if isinstance(route, list):
                        reply: Reply = route.pop(0) if len(route) > 1 else route[0]
                    elif route is None:
                        reply = (404, {}, {"code": 404, "reason": "Not Found", "message": "Not Found"})
                    else:
                        reply = route(seen)
                if reply == DROP:
                    self.close_connection = True
                    return
                status, headers, payload = reply  # type: ignore[misc]
                data = (
                    b""
                    if payload is None
                    else (payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
