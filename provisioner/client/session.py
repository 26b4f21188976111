"""The one adapter: session, URL joining, auth, ``Accept-API-Version``, retries, typed errors, traces.

Endpoint helpers (:mod:`.am`, :mod:`.idm`, :mod:`.environment`, the colleague's ``.oauth``) only build
paths and payloads and call :meth:`TenantClient.request`.
"""

from __future__ import annotations

import json as jsonlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from provisioner import redact
from provisioner.client import paths
from provisioner.client.bounded import DEADLINE_VARIABLE, MAX_BYTES_VARIABLE, HttpLimits, LimitExceeded
from provisioner.client.errors import from_response, transport_error
from provisioner.client.response import Response
from provisioner.client.retry import (
    AMBIGUOUS,
    RETRYABLE_STATUSES,
    RetryBudget,
    RetryPolicy,
    decide,
    parse_retry_after,
)
from provisioner.client.transport import Exchange, NoResponse, Transport
from provisioner.errors import ConfigurationError

if TYPE_CHECKING:
    from provisioner.client.am import AMApi
    from provisioner.client.auth import Auth
    from provisioner.client.environment import EnvironmentApi
    from provisioner.client.idm import IDMApi

Timeout = float | tuple[float, float]


@dataclass(frozen=True)
class TraceEvent:
    """One HTTP attempt, for ``--verbose``: never headers or bodies. ``str()`` is redacted."""

    method: str
    path: str
    status: int | None
    elapsed_ms: float
    attempt: int
    error: str | None = None
    retry: str | None = None

    def __str__(self) -> str:
        outcome = str(self.status) if self.status is not None else f"({self.error or 'no response'})"
        line = f"{self.method} {self.path} -> {outcome} {self.elapsed_ms:.0f}ms attempt {self.attempt}"
        if self.retry:
            line += f"; retrying: {self.retry}"
        return redact.text(line)


def check_base_url(url: str) -> str:
    """Normalise a tenant URL; https is required except for loopback hosts (the local emulator)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"tenant URL {redact.text(url)!r} is not an http(s) URL such as https://openam-acme.forgeblocks.com"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigurationError("the tenant URL must not carry credentials, a query or a fragment")
    if parts.scheme == "http" and not paths.is_loopback(parts.hostname):
        raise ConfigurationError(
            f"refusing plain http:// to {parts.hostname}: tenant URLs must use https:// "
            "(http is allowed only for loopback hosts such as the local emulator)"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _parse(exchange: Exchange, defer: bool = False) -> Response:
    headers: dict[str, str] = {}
    for name, value in exchange.headers:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    if defer:
        return Response(status=exchange.status, headers=headers, content=exchange.content)
    return Response(status=exchange.status, headers=headers, body=_body(exchange.content, headers))


def _body(content: bytes, headers: Mapping[str, str]) -> Any:
    if not content:
        return None
    ctype = (headers.get("content-type") or "").lower()
    if "json" in ctype or content[:1] in (b"{", b"["):
        try:
            return jsonlib.loads(content)
        except ValueError:
            return _text(content, ctype)
    return _text(content, ctype)


def decoded(response: Response) -> Response:
    """A response asked for with ``deferred=True``, with its body decoded as :meth:`TenantClient.request`
    would have (JSON, else text); any other response as it is."""
    if response.content is None:
        return response
    return Response(status=response.status, headers=response.headers, body=_body(response.content, response.headers))


def _text(content: bytes, ctype: str) -> str:
    charset = "utf-8"
    for part in ctype.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.strip() == "charset" and value:
            charset = value.strip().strip('"')
    try:
        return content.decode(charset, "replace")
    except LookupError:
        return content.decode("utf-8", "replace")


def _target(path: str, params: Mapping[str, Any] | None) -> str:
    """``path?query`` with ``params`` form-encoded (lists repeat the key; ``None`` values are left out)."""
    if not params:
        return path
    pairs = [(k, v) for k, v in params.items() if v is not None]
    return f"{path}?{urlencode(pairs, doseq=True)}" if pairs else path


class TenantClient:
    """A tenant's REST API over ONE pooled :class:`~.transport.Transport`; safe to share between threads.

    ``timeout`` is ``(connect, read)`` seconds or one number; ``verify`` is ``True`` or a CA bundle path
    (verification cannot be turned off); ``trace`` receives a :class:`TraceEvent` per attempt;
    ``clock`` (monotonic) and ``sleep`` are injectable; ``budget`` is the run's shared retry budget;
    ``http_limits`` bounds each attempt's total time and response size (:mod:`.bounded`).
    """

    def __init__(
        self,
        base_url: str,
        auth: Auth,
        *,
        pool_size: int = 8,
        timeout: Timeout = (5, 30),
        verify: bool | str = True,
        retry: RetryPolicy | None = None,
        trace: Callable[[TraceEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        budget: RetryBudget | None = None,
        http_limits: HttpLimits | None = None,
    ) -> None:
        self.base_url = check_base_url(base_url)
        if verify is False:
            raise ConfigurationError("TLS verification cannot be turned off; pass a CA bundle path instead")
        if isinstance(verify, str) and not os.path.isfile(verify):
            raise ConfigurationError(f"CA bundle {verify!r} does not exist")
        self.auth = auth
        self.timeout = timeout
        self.http_limits = http_limits or HttpLimits()
        self.verify = verify
        self.retry = retry or RetryPolicy()
        self.budget = budget or RetryBudget(self.retry.budget_seconds)
        self.trace = trace
        self.clock = clock
        self.sleep = sleep
        # No proxy or environment CA bundle for the local emulator.
        self._transport = Transport(
            self.base_url,
            pool_size=pool_size,
            timeout=timeout,
            verify=verify,
            trust_env=not paths.is_loopback(urlsplit(self.base_url).hostname),
        )
        self._path_prefix = urlsplit(self.base_url).path
        self._lock = threading.Lock()
        self._idm: IDMApi | None = None
        self._environment: EnvironmentApi | None = None

    # -- endpoint helpers --------------------------------------------------------------------------

    def am(self, realm: str) -> AMApi:
        """AM realm configuration: the OAuth2 provider, OAuth2Client and AIAgent collections."""
        from provisioner.client.am import AMApi

        return AMApi(self, realm)

    @property
    def idm(self) -> IDMApi:
        """IDM managed objects (query with paging, get, put, create, patch, delete)."""
        from provisioner.client.idm import IDMApi

        with self._lock:
            if self._idm is None:
                self._idm = IDMApi(self)
            return self._idm

    @property
    def environment(self) -> EnvironmentApi:
        """The AI agents feature switch (``/environment/aiagent``)."""
        from provisioner.client.environment import EnvironmentApi

        with self._lock:
            if self._environment is None:
                self._environment = EnvironmentApi(self)
            return self._environment

    def oauth(self, realm: str) -> Any:
        """The realm's OAuth2 runtime endpoints (token, tokeninfo, introspect)."""
        from provisioner.client.oauth import OAuthEndpoints  # type: ignore[import-not-found,unused-ignore]

        return OAuthEndpoints(self, realm)

    def add_response_hook(self, hook: Callable[[Exchange], Any]) -> None:
        """Call ``hook`` with every completed exchange of this client (``--record``)."""
        self._transport.add_hook(hook)

    # -- lifecycle ---------------------------------------------------------------------------------

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> TenantClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TenantClient({self.base_url!r})"

    # -- the one request path ----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        api_version: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        authenticate: bool = True,
        raise_errors: bool = True,
        deferred: bool = False,
    ) -> Response:
        """Send ``method path`` (an already-quoted path from :mod:`.paths`) and return the parsed response.

        ``api_version`` defaults to the endpoint's (:func:`paths.api_version`); pass ``""`` for none.
        ``idempotent`` overrides the method's default for retries (e.g. a PATCH of replace operations).
        ``authenticate=False`` sends no admin token (token endpoints; the caller may pass its own
        ``Authorization``). ``raise_errors=False`` returns non-2xx responses instead of raising
        (retries and the 401 refresh still apply). ``deferred=True`` leaves a successful body undecoded
        (``Response.content``; :func:`decoded` decodes it), for a caller that has something to do first.
        Raises a :class:`~.errors.TenantError` subclass.
        """
        method = method.upper()
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        target = _target(self._path_prefix + path, params)
        body: bytes | None = None
        base_headers = {"Accept": "application/json"}
        if json is not None:
            body = jsonlib.dumps(json, allow_nan=False, separators=(",", ":")).encode("utf-8")
            base_headers["Content-Type"] = "application/json"
        elif data is not None:
            body = urlencode(list(data.items())).encode("ascii")
            base_headers["Content-Type"] = "application/x-www-form-urlencoded"
        version = paths.api_version(path) if api_version is None else api_version
        if version:
            base_headers["Accept-API-Version"] = version
        base_headers.update(headers or {})
        lowered = {k.lower(): v for k, v in base_headers.items()}
        create = method == "PUT" and lowered.get("if-none-match", "").strip() == "*"
        started = self.clock()
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            headers_sent = dict(base_headers)
            headers_sent["X-ForgeRock-TransactionId"] = str(uuid.uuid4())
            authorization = None
            if authenticate:
                authorization = self.auth.authorization(self)
                headers_sent["Authorization"] = authorization
            t0 = self.clock()
            try:
                exchange = self._transport.send(
                    method, target, headers=headers_sent, body=body, limits=self.http_limits
                )
            except LimitExceeded as exc:
                # Not retried: a server that drips or floods would do it again.
                self._emit(method, path, None, t0, attempt, str(exc), None)
                knobs = f"{DEADLINE_VARIABLE} / {MAX_BYTES_VARIABLE} change the limits"
                raise transport_error(
                    method,
                    path,
                    f"{exc} (attempt {attempt}; {knobs})",
                    ambiguous=method not in ("GET", "HEAD", "OPTIONS"),
                ) from None
            except NoResponse as exc:
                kind, problem = exc.kind, exc.cause
                decision = decide(
                    method,
                    attempt,
                    error=kind,
                    elapsed=self.clock() - started,
                    budget=self.budget.remaining(),
                    policy=self.retry,
                    idempotent=idempotent,
                    create=create,
                )
                self._emit(method, path, None, t0, attempt, problem, decision.reason if decision.retry else None)
                if decision.retry:
                    self._wait(decision.delay)
                    continue
                ambiguous = kind == AMBIGUOUS and method not in ("GET", "HEAD", "OPTIONS")
                raise transport_error(method, path, f"{problem} (attempt {attempt})", ambiguous=ambiguous) from None
            response = _parse(exchange, deferred and 200 <= exchange.status < 300)
            if response.status == 401 and authorization and not refreshed and self.auth.invalidate(authorization):
                self._emit(method, path, 401, t0, attempt, None, "token refresh")
                refreshed = True
                continue
            if response.status in RETRYABLE_STATUSES:
                decision = decide(
                    method,
                    attempt,
                    status=response.status,
                    retry_after=parse_retry_after(response.retry_after),
                    elapsed=self.clock() - started,
                    budget=self.budget.remaining(),
                    policy=self.retry,
                    idempotent=idempotent,
                    create=create,
                )
                self._emit(
                    method, path, response.status, t0, attempt, None, decision.reason if decision.retry else None
                )
                if decision.retry:
                    self._wait(decision.delay)
                    continue
            else:
                self._emit(method, path, response.status, t0, attempt)
            if raise_errors and response.status >= 300:
                raise from_response(method, path, response)
            return response

    def _wait(self, delay: float) -> None:
        self.budget.spend(delay)
        if delay > 0:
            self.sleep(delay)

    def _emit(
        self,
        method: str,
        path: str,
        status: int | None,
        t0: float,
        attempt: int,
        error: str | None = None,
        retry: str | None = None,
    ) -> None:
        if self.trace is None:
            return
        elapsed_ms = (self.clock() - t0) * 1000.0
        self.trace(TraceEvent(method, redact.text(path), status, elapsed_ms, attempt, error, retry))
