"""``--record FILE.har``: every HTTP exchange of a run, as HAR 1.2, with every secret redacted.

:class:`HarRecorder` hooks the client's one transport (:meth:`TenantClient.add_response_hook`), so
every request that got a response is recorded, whichever helper sent it (AM, IDM, tokens, verify).
The hook only keeps the :class:`~.transport.Exchange` (what was sent, what the client read); it is
turned into HAR, redacted, when the file is written.

Redaction, through :mod:`provisioner.redact` only: ``Authorization``, ``Cookie`` and ``Set-Cookie``
values are masked outright; form bodies (token requests) mask their credential fields (secrets,
assertions, tokens, codes, passwords) by name; JSON bodies go through :func:`redact.data` (sensitive
keys and every registered secret in any encoding); and the finished document goes through
:func:`redact.text` once more before it is written.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from provisioner import redact
from provisioner.client.transport import Exchange

MASKED_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
FORM_SECRETS = ("client_assertion", "code", "code_verifier", "username")
CREATOR = {"name": "provisioner", "version": "0.1.0", "comment": "provisioner --record"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class HarRecorder:
    """Collects the exchanges of one run (thread-safe) and writes them as one HAR 1.2 file."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[Exchange] = []

    def hook(self, exchange: Exchange) -> None:
        """The transport's hook: remember one completed exchange."""
        with self._lock:
            self._seen.append(exchange)

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)

    def document(self) -> dict[str, Any]:
        """The HAR document, redacted."""
        with self._lock:
            seen = list(self._seen)
        # In the order the answers arrived: a request that needed another's answer comes after it.
        entries = [_entry(exchange) for exchange in seen]
        return {"log": {"version": "1.2", "creator": dict(CREATOR), "pages": [], "entries": entries}}

    def write(self, path: str | os.PathLike[str]) -> int:
        """Write the file (replacing it); returns the number of exchanges."""
        doc = self.document()
        text = redact.text(json.dumps(doc, indent=1, ensure_ascii=False))  # the last net, over everything
        json.loads(text)  # masking never breaks the JSON (the mask has no quote or backslash)
        target = os.fspath(path)
        partial = target + ".partial"
        with open(partial, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        os.replace(partial, target)
        return len(doc["log"]["entries"])


def _headers(items: Any) -> list[dict[str, str]]:
    out = []
    for name, value in items:
        shown = redact.MASK if name.lower() in MASKED_HEADERS else redact.text(str(value))
        out.append({"name": str(name), "value": shown})
    return out


def _field(name: str, value: str) -> str:
    """A form or query field's value: masked under a sensitive name (``redact.data``'s rule), else
    with registered secrets masked."""
    return str(redact.data({name: value}, extra_keys=FORM_SECRETS)[name])


def _query(url: str) -> list[dict[str, str]]:
    return [{"name": k, "value": _field(k, v)} for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)]


def _url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return redact.text(url)
    query = urlencode([(q["name"], q["value"]) for q in _query(url)])
    return redact.text(parts._replace(query=query).geturl())


def _text(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _body(text: str, mime: str) -> str:
    """A body with its secrets masked: JSON by key and value, forms by field name, text by value."""
    if not text:
        return ""
    if "x-www-form-urlencoded" in mime:
        return redact.text(urlencode([(k, _field(k, v)) for k, v in parse_qsl(text, keep_blank_values=True)]))
    try:
        parsed = json.loads(text)
    except ValueError:
        return redact.text(text)
    return json.dumps(redact.data(parsed, extra_keys=("client_assertion",)), separators=(",", ":"))


def _stamp(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _entry(exchange: Exchange) -> dict[str, Any]:
    request_headers = dict(exchange.request_headers)
    request_mime = next((v for k, v in exchange.request_headers if k.lower() == "content-type"), "")
    request_text = _body(_text(exchange.request_body), request_mime)
    response_mime = exchange.header("content-type")
    response_text = _body(_text(exchange.content), response_mime)
    elapsed_ms = round(exchange.elapsed * 1000, 1)
    har_request: dict[str, Any] = {
        "method": exchange.method,
        "url": _url(exchange.url),
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(request_headers.items()),
        "queryString": _query(exchange.url),
        "headersSize": -1,
        "bodySize": len(request_text.encode("utf-8")),
    }
    if request_text:
        har_request["postData"] = {"mimeType": request_mime, "text": request_text}
    return {
        "startedDateTime": _stamp(exchange.started),
        "time": elapsed_ms,
        "request": har_request,
        "response": {
            "status": exchange.status,
            "statusText": exchange.reason,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _headers(exchange.headers),
            "content": {"size": len(response_text.encode("utf-8")), "mimeType": response_mime, "text": response_text},
            "redirectURL": exchange.header("location") if 300 <= exchange.status < 400 else "",
            "headersSize": -1,
            "bodySize": len(response_text.encode("utf-8")),
        },
        "cache": {},
        "timings": {"send": 0, "wait": elapsed_ms, "receive": 0},
    }


__all__ = ["HarRecorder"]
