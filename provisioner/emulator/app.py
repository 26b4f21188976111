"""Request dispatch: control plane apart; for the emulated API, stats → latency → faults → auth →
handler inside one store transaction → the one error-to-response conversion."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from . import routes
from .backend import Backend
from .errors import BadRequest, CrestError, EmulatorError, Forbidden
from .faults import Faults
from .handlers import Ctx
from .stats import READ_METHODS, Stats
from .store import NeedsWrite
from .wire import AM, CONTROL, ENV, IDM, Request, Response, error_response

log = logging.getLogger(__name__)

SCOPES_NEEDED = {"am": ("fr:am:*",), "idm": ("fr:idm:*",), "env": ("fr:am:*", "fr:idm:*"), "any": ()}
CSRF_EXEMPT = ("GET", "HEAD", "OPTIONS")
CACHED_FAMILIES = (AM, IDM, ENV)  # the admin APIs; OAuth answers (tokens) are never reused
REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _host_of(value: str) -> str:
    """The host name in a ``Host`` header (``127.0.0.1:8080``, ``[::1]:8080``) or an origin URL."""
    value = value.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1].split("/", 1)[0]
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def refusal(request: Request, control: bool) -> CrestError | None:
    """Why a request must not be served, or None.

    Every request must name a loopback ``Host`` (a web page that rebinds its DNS name to 127.0.0.1
    reaches the emulator with its own name there). Control-plane requests must not come from a web
    page at all: a foreign ``Origin`` or ``Sec-Fetch-Site`` is refused, and a body must be JSON (which
    a page cannot send cross-origin without a CORS preflight that the emulator never grants).
    """
    host = request.headers.get("host")
    if host is not None and _host_of(str(host)) not in _LOOPBACK_HOSTS:
        return Forbidden("the emulator answers only requests addressed to a loopback host (Host header)")
    if not control:
        return None
    origin = request.headers.get("origin")
    if origin is not None and (str(origin).strip() == "null" or _host_of(str(origin)) not in _LOOPBACK_HOSTS):
        return Forbidden("cross-origin requests to the emulator's control plane are refused")
    if str(request.headers.get("sec-fetch-site") or "").lower() in ("cross-site", "same-site"):
        return Forbidden("cross-origin requests to the emulator's control plane are refused")
    content_type = str(request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if request.body.strip() and content_type != "application/json":
        return BadRequest(
            "the emulator's control plane takes JSON bodies only (Content-Type: application/json)", status=415
        )
    return None


class App:
    def __init__(self, backend: Backend, latency_ms: int = 0) -> None:
        self.backend = backend
        self.latency_ms = latency_ms
        self.stats = Stats()
        self.faults = Faults()
        self._oauth: Any = None
        self._oauth_lock = threading.Lock()
        #: rendered read answers: (method, path, query, API version, store generation, epoch) → Response
        self._cache: dict[tuple[Any, ...], Response] = {}
        self._cache_lock = threading.Lock()
        self._cache_epoch = 0

    def reset(self) -> None:
        self.backend.reset()
        self.faults.clear()
        self.stats.clear()
        self._invalidate()

    def oauth_service(self) -> Any:
        """The realm OAuth runtime, created on first use."""
        with self._oauth_lock:
            if self._oauth is None:
                from .oauth.service import OAuthService

                self._oauth = OAuthService(
                    self.backend.view, self.backend.auth.signing_jwk, self.backend.config, clock=self.backend.clock
                )
            return self._oauth

    def handle(self, request: Request) -> Response | None:
        """The response, or ``None`` to drop the connection without answering."""
        family = routes.family_of(request.path)
        refused = refusal(request, control=family == CONTROL)
        if refused is not None:
            return error_response(refused, family)
        try:
            route, params = routes.match(request.method, request.path)
        except EmulatorError as exc:
            return error_response(exc, family)
        if route.family == CONTROL:
            return self._run(route, params, request)
        self.stats.record(request.method, routes.stats_name(route, params), route.category)
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        target = request.path + ("?" + request.query_string if request.query_string else "")
        decision = self.faults.decide(request.method, target)
        if decision.latency_ms:
            time.sleep(decision.latency_ms / 1000)
        if decision.action == "drop-before":
            return None
        if decision.action == "status":
            return self._injected(decision.rule, route.family)
        if decision.action == "respond" and not decision.rule.get("handle"):
            return self._responded(decision.rule, route.family)
        response = self._run(route, params, request)
        if decision.action == "respond":
            return self._responded(decision.rule, route.family)
        return None if decision.action == "drop-after" else response

    def _run(self, route: routes.Route, params: dict[str, str], request: Request) -> Response:
        if route.family == CONTROL:
            try:
                return self._run_locked(route, params, request)
            finally:
                # Resets, seeds and config switches change what reads render. Reading the control plane,
                # the request counters and the fault rules (applied around the handlers, never cached)
                # do not: a benchmark that resets the counters before each step keeps the cache.
                if request.method != "GET" and route.name not in ("stats", "faults"):
                    self._invalidate()
        if request.method in READ_METHODS and route.family in CACHED_FAMILIES:
            try:
                return self._run_read(route, params, request)
            except NeedsWrite:  # e.g. a lazily created default or an expired session removed
                pass
        return self._run_locked(route, params, request)

    def _invalidate(self) -> None:
        with self._cache_lock:
            self._cache.clear()
            self._cache_epoch += 1

    def _run_read(self, route: routes.Route, params: dict[str, str], request: Request) -> Response:
        """A read: shared with other reads (no write lock), its answer cached per store generation.

        Authorisation runs on every request; only the handler's rendered answer is reused, for the same
        method, path, query and API version, until anything is written (or the control plane is used).
        """
        ctx = Ctx(self, request)
        store = self.backend.store
        try:
            with store.read_transaction():
                if route.auth is not None:
                    self._authorize(ctx, route)
                key = (
                    request.method,
                    request.path,
                    request.query_string,
                    request.headers.get("accept-api-version"),
                    getattr(self.backend.config, "version", None),
                    store.generation,
                    self._cache_epoch,
                )
                with self._cache_lock:
                    hit = self._cache.get(key)
                if hit is not None:
                    return hit
                response = route.handler(ctx, **params)
                if 200 <= response.status < 300 and response.raw is None:
                    response = Response(
                        response.status, response.body, dict(response.headers), response.family, raw=response.encode()
                    )
                    with self._cache_lock:
                        if key[-2:] == (store.generation, self._cache_epoch):
                            if len(self._cache) >= 256:
                                self._cache.clear()
                            self._cache[key] = response
                return response
        except EmulatorError as exc:
            return error_response(exc, route.family)
        except NeedsWrite:
            raise
        except Exception:  # a bug in the emulator: a CREST 500, never a dropped connection
            log.exception("emulator handler failed: %s %s", request.method, request.path)
            return error_response(CrestError("Internal Server Error", status=500), route.family)

    def _run_locked(self, route: routes.Route, params: dict[str, str], request: Request) -> Response:
        ctx = Ctx(self, request)
        try:
            with self.backend.store.transaction():
                if route.auth is not None:
                    self._authorize(ctx, route)
                if (
                    route.family == AM
                    and request.method not in CSRF_EXEMPT
                    and self.backend.config["am.csrf"] == "enforce"
                    and not (request.headers.get("accept-api-version") or request.headers.get("x-requested-with"))
                ):
                    raise Forbidden()
                return route.handler(ctx, **params)
        except EmulatorError as exc:
            return error_response(exc, route.family)
        except Exception:  # a bug in the emulator: a CREST 500, never a dropped connection
            log.exception("emulator handler failed: %s %s", request.method, request.path)
            return error_response(CrestError("Internal Server Error", status=500), route.family)

    def _authorize(self, ctx: Ctx, route: routes.Route) -> None:
        claims = self.backend.auth.authenticate(ctx.request.headers.get("authorization"))
        granted = claims.get("scope") or []
        if any(scope not in granted for scope in SCOPES_NEEDED[route.auth or "any"]):
            raise Forbidden()
        ctx.claims = claims

    @staticmethod
    def _responded(rule: dict[str, Any], family: str) -> Response:
        raw = rule.get("raw")
        return Response(
            int(rule.get("status", 200)),
            rule.get("body"),
            {},
            family,
            raw=raw.encode("utf-8") if isinstance(raw, str) else None,
        )

    @staticmethod
    def _injected(rule: dict[str, Any], family: str) -> Response:
        status = int(rule.get("status", 503))
        headers = {}
        if status == 429 or rule.get("retryAfter") is not None:
            headers["Retry-After"] = str(rule.get("retryAfter", 1))
        error = CrestError(REASONS.get(status, "Injected fault"), status=status, headers=headers)
        return error_response(error, family)
