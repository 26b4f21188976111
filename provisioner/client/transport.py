"""HTTP/1.1 for one tenant origin: a small keep-alive connection pool over :mod:`http.client`.

Why not ``requests``: at 25 ms of latency and eight requests in flight, an apply is bound by the
client's CPU, and ``requests`` + ``urllib3`` spent about 2 ms of it per request (preparing, merging
settings, cookie jars, header parsing layers) against 1 ms for the exchange itself over ``http.client``.
This module does only what the tenant APIs need: one origin, keep-alive, TLS verified against a CA
bundle, an ``https_proxy`` tunnel, gzip/deflate, and the bounds of :mod:`.bounded` (a total deadline
kept by the shared watchdog, a cap on the decoded body size).

Errors are :class:`NoResponse` (``kind`` for the retry rules in :mod:`.retry`, ``cause`` a short
phrase naming no URL and no secret) or :class:`~.bounded.LimitExceeded`.
"""

from __future__ import annotations

import http.client
import os
import select
import ssl
import threading
import time
import zlib
from base64 import b64encode
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from provisioner import __version__
from provisioner.client.bounded import WATCHDOG, HttpLimits, LimitExceeded, Watch
from provisioner.client.retry import AMBIGUOUS, CONNECT
from provisioner.errors import ConfigurationError

USER_AGENT = f"provisioner/{__version__}"
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


class NoResponse(Exception):
    """No complete HTTP response: ``kind`` is ``connect`` (nothing was sent), ``ambiguous`` (the request
    may have reached the server), ``tls`` or ``invalid``; ``str()`` is the cause, without the URL."""

    def __init__(self, kind: str, cause: str) -> None:
        super().__init__(cause)
        self.kind = kind
        self.cause = cause


@dataclass(frozen=True)
class Exchange:
    """One request and the response to it, as sent and as received (``content`` decoded)."""

    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes | None
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    content: bytes
    started: float  # wall-clock time.time() when the request was sent
    elapsed: float  # seconds until the whole body was read

    def header(self, name: str, default: str = "") -> str:
        """The first response header called ``name`` (any case)."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return default


def _ssl_context(verify: bool | str, trust_env: bool) -> ssl.SSLContext:
    """Verification is always on: ``verify`` is ``True`` (the CA bundle from the environment, else
    ``certifi``'s, else the system's) or a CA bundle path."""
    bundle = verify if isinstance(verify, str) else None
    if bundle is None and trust_env:
        bundle = next((os.environ[v] for v in CA_BUNDLE_VARIABLES if os.environ.get(v)), None)
    if bundle is None:
        try:
            import certifi

            bundle = certifi.where()
        except ImportError:  # pragma: no cover - certifi is a dependency
            bundle = None
    if bundle and os.path.isdir(bundle):
        return ssl.create_default_context(capath=bundle)
    return ssl.create_default_context(cafile=bundle)


def _bypass(host: str, proxies: dict[str, str]) -> bool:
    """``no_proxy`` matching, as urllib (and requests) read it from the environment."""
    import urllib.request  # https only: the local emulator's runs do not load it

    check: Callable[[str, dict[str, str]], bool] = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009
    return bool(check(host, proxies))


def _proxy(host: str, trust_env: bool) -> tuple[str, int, dict[str, str]] | None:
    """``(host, port, tunnel headers)`` of the ``https_proxy`` to use for ``host``, if any."""
    if not trust_env:
        return None
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    url = proxies.get("https")
    if not url or _bypass(host, proxies):
        return None
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.scheme != "http" or not parts.hostname:
        raise ConfigurationError(
            f"unsupported https_proxy scheme {parts.scheme!r}: use an http:// proxy (the tunnel to the tenant is TLS)"
        )
    headers = {}
    if parts.username:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + b64encode(credentials.encode()).decode()
    return parts.hostname, parts.port or 80, headers


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive connection the server closed (readable while idle means EOF or junk)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


_MAX_LINE = 65536
_MAX_HEADERS = 100


class _Message:
    """The response headers, as much of :class:`http.client.HTTPMessage` as :mod:`http.client` uses
    (``get``, ``get_all``, ``items``), parsed without the ``email`` package."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        self._first: dict[str, str] = {}
        for name, value in pairs:
            self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: Any = None) -> Any:
        return self._first.get(name.lower(), default)

    def get_all(self, name: str, failobj: Any = None) -> Any:
        lowered = name.lower()
        found = [v for k, v in self._pairs if k.lower() == lowered]
        return found or failobj

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)


class _Response(http.client.HTTPResponse):
    """:class:`http.client.HTTPResponse` whose headers are read by :meth:`begin` directly: the standard
    one parses them with the ``email`` package, about a fifth of the client's CPU per request."""

    def begin(self) -> None:
        if self.headers is not None:
            return
        while True:
            version, status, reason = self._read_status()
            pairs = self._read_header_lines()
            if status != http.client.CONTINUE:
                break
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = _Message(pairs)
        encoding = self.msg.get("transfer-encoding")
        self.chunked = bool(encoding) and encoding.lower() == "chunked"
        self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None
        length = self.msg.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            else:
                if self.length < 0:
                    self.length = None
        if status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED) or 100 <= status < 200:
            self.length = 0
        if self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True

    def _read_header_lines(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for _ in range(_MAX_HEADERS + 1):
            line = self.fp.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                raise http.client.LineTooLong("header line")
            if line in (b"\r\n", b"\n", b""):
                return pairs
            name, colon, value = line.decode("iso-8859-1").partition(":")
            if colon:
                pairs.append((name.strip(), value.strip()))
            elif pairs and line[:1] in (b" ", b"\t"):  # an obsolete folded continuation line
                pairs[-1] = (pairs[-1][0], f"{pairs[-1][1]} {line.decode('iso-8859-1').strip()}")
        raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")


def _send_output(self: Any, message_body: Any = None, encode_chunked: bool = False) -> None:
    """:meth:`http.client.HTTPConnection._send_output` with the headers and a bytes body in one write
    (the standard one writes them apart): one system call and one TLS record per request, and no
    small second segment for Nagle's algorithm to hold back until the first is acknowledged."""
    if not isinstance(message_body, bytes) or encode_chunked or len(message_body) > _ONE_WRITE:
        http.client.HTTPConnection._send_output(self, message_body, encode_chunked)  # type: ignore[attr-defined]
        return
    self._buffer.extend((b"", b""))
    message = b"\r\n".join(self._buffer) + message_body
    del self._buffer[:]
    self.send(message)


_ONE_WRITE = 1 << 20


class _HTTPConnection(http.client.HTTPConnection):
    _send_output = _send_output


class _HTTPSConnection(http.client.HTTPSConnection):
    _send_output = _send_output


class _Decoder:
    """The body as the server meant it: gzip/deflate undone, the cap applied to the decoded size."""

    def __init__(self, encoding: str, max_bytes: int) -> None:
        encoding = encoding.strip().lower()
        self.max_bytes = max_bytes
        self.size = 0
        self._zlib: Any = None
        self._deflate = encoding == "deflate"
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self._deflate:
            self._zlib = zlib.decompressobj()

    def _count(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise LimitExceeded(f"the response is larger than {self.max_bytes} bytes")
        return data

    def feed(self, chunk: bytes) -> bytes:
        if self._zlib is None:
            return self._count(chunk)
        try:
            out: bytes = self._zlib.decompress(chunk, self.max_bytes - self.size + 1)
        except zlib.error:
            if self._deflate and self.size == 0:  # raw deflate, as some servers send it
                self._zlib, self._deflate = zlib.decompressobj(-zlib.MAX_WBITS), False
                return self.feed(chunk)
            raise NoResponse(AMBIGUOUS, "the response could not be decoded") from None
        self._count(out)
        if self._zlib.unconsumed_tail:  # more output than the cap allows
            raise LimitExceeded(f"the response is larger than {self.max_bytes} bytes")
        return out


class Transport:
    """Requests to one origin (``scheme://host:port``) over a pool of at most ``pool_size`` keep-alive
    connections; a caller waits for a free one (thread-safe).

    ``timeout``: ``(connect, read)`` seconds or one number for both; ``verify``: ``True`` or a CA bundle
    path; ``trust_env``: use ``https_proxy``/``no_proxy`` and CA bundle variables (off for loopback).
    """

    def __init__(
        self,
        origin: str,
        *,
        pool_size: int = 8,
        timeout: float | tuple[float, float] = (5, 30),
        verify: bool | str = True,
        trust_env: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"not an http(s) origin: {origin!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.connect_timeout, self.read_timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        self.clock = clock
        self._context = _ssl_context(verify, trust_env) if self.scheme == "https" else None
        self._proxy = _proxy(self.host, trust_env) if self.scheme == "https" else None
        self._slots = threading.BoundedSemaphore(max(1, pool_size))
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._hooks: list[Callable[[Exchange], Any]] = []

    def add_hook(self, hook: Callable[[Exchange], Any]) -> None:
        """Call ``hook`` with every completed exchange (``--record``)."""
        self._hooks.append(hook)

    # -- connections -------------------------------------------------------------------------------

    def _new(self, timeout: float) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self._context is None:
            conn = _HTTPConnection(self.host, self.port, timeout=timeout)
        elif self._proxy is not None:
            proxy_host, proxy_port, tunnel_headers = self._proxy
            conn = _HTTPSConnection(proxy_host, proxy_port, timeout=timeout, context=self._context)
            conn.set_tunnel(self.host, self.port, headers=tunnel_headers)
        else:
            conn = _HTTPSConnection(self.host, self.port, timeout=timeout, context=self._context)
        conn.response_class = _Response
        try:
            conn.connect()
        except ssl.SSLError:
            conn.close()
            raise NoResponse(
                "tls", "TLS verification failed (pass the tenant's CA bundle if it uses a private CA)"
            ) from None
        except TimeoutError:
            conn.close()
            raise NoResponse(CONNECT, "connection timed out") from None
        except OSError as exc:
            conn.close()
            proxy = " through the proxy" if self._proxy is not None and "Tunnel" in str(exc) else ""
            raise NoResponse(CONNECT, f"could not connect{proxy}") from None
        return conn

    def _take(self) -> http.client.HTTPConnection | None:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not _dropped(conn):
                    return conn
                conn.close()
        return None

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- one exchange ------------------------------------------------------------------------------

    def send(
        self,
        method: str,
        target: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None = None,
        limits: HttpLimits,
    ) -> Exchange:
        """Send ``method target`` (path and query) and read the whole response within ``limits``."""
        sent_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", **headers}
        started_wall = time.time()
        started = self.clock()
        watch = Watch()
        WATCHDOG.add(time.monotonic() + limits.deadline, watch)
        self._slots.acquire()
        conn: http.client.HTTPConnection | None = None
        try:
            conn = self._take()
            if conn is None:
                conn = self._new(min(self.connect_timeout, limits.deadline))
            assert conn.sock is not None
            conn.sock.settimeout(min(self.read_timeout, limits.deadline))
            watch.attach(conn.sock)
            status, reason, response_headers, content, reusable = self._exchange(
                conn, method, target, sent_headers, body, limits, watch, started
            )
            if reusable:
                self._give_back(conn)
            else:
                conn.close()
            conn = None
        finally:
            watch.done = True
            if conn is not None:
                conn.close()
            self._slots.release()
        exchange = Exchange(
            method=method,
            url=self.origin + target,
            request_headers=tuple(sent_headers.items()),
            request_body=body,
            status=status,
            reason=reason,
            headers=response_headers,
            content=content,
            started=started_wall,
            elapsed=self.clock() - started,
        )
        for hook in self._hooks:
            hook(exchange)
        return exchange

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None,
        limits: HttpLimits,
        watch: Watch,
        started: float,
    ) -> tuple[int, str, tuple[tuple[str, str], ...], bytes, bool]:
        late = f"no complete response within the {limits.deadline:g} s deadline"
        try:
            conn.request(method, target, body=body, headers=dict(headers))
            response = conn.getresponse()
        except TimeoutError:
            if watch.fired or self.read_timeout >= limits.deadline:  # the socket's wait was the deadline
                raise LimitExceeded(late) from None
            raise NoResponse(AMBIGUOUS, "no response before the read timeout") from None
        except (OSError, http.client.HTTPException):
            if watch.fired:
                raise LimitExceeded(late) from None
            raise NoResponse(AMBIGUOUS, "the connection was dropped") from None
        declared = response.getheader("content-length", "") or ""
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise LimitExceeded(f"the response is larger than {limits.max_bytes} bytes ({declared} declared)")
        decoder = _Decoder(response.getheader("content-encoding", "") or "", limits.max_bytes)
        chunks: list[bytes] = []
        while True:
            if watch.fired or self.clock() - started >= limits.deadline:
                raise LimitExceeded(late)
            try:
                chunk = response.read1(65536) if method != "HEAD" else b""
            except TimeoutError:
                if watch.fired or self.read_timeout >= limits.deadline:
                    raise LimitExceeded(late) from None
                raise NoResponse(AMBIGUOUS, "no response before the read timeout") from None
            except (OSError, http.client.HTTPException, ValueError):
                if watch.fired:
                    raise LimitExceeded(late) from None
                raise NoResponse(AMBIGUOUS, "the response was cut off") from None
            if not chunk:
                if watch.fired:  # the shut-down socket reads as end of file
                    raise LimitExceeded(late)
                break
            chunks.append(decoder.feed(chunk))
        if response.length:  # fewer bytes than Content-Length before end of file
            raise NoResponse(AMBIGUOUS, "the response was cut off")
        response.close()  # the body is read whole: the connection may carry the next request
        reusable = not response.will_close
        return response.status, response.reason or "", tuple(response.getheaders()), b"".join(chunks), reusable


__all__ = ["Exchange", "NoResponse", "Transport", "USER_AGENT"]
