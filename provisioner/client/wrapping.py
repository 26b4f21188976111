"""The AM ``{"inherited": false, "value": X}`` wrapping, in one place (reference §4.3, §6.6).

Single GET, PUT and DELETE responses wrap every field of the client groups (unset → ``{"inherited":
false}``) and the AIAgent's ``aiAgentIdentityUid``/``aiAgentIdentityAttributes``; lists are plain.
``overrideOAuth2ClientConfig`` is never wrapped, and neither is the write-only ``userpassword``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

UNWRAPPED_GROUPS = frozenset({"overrideOAuth2ClientConfig"})
PLAIN_FIELDS = frozenset({"userpassword"})
_WRAPPER_KEYS = frozenset({"inherited", "value"})


def is_wrapped(value: Any) -> bool:
    """``{"inherited": bool}`` or ``{"inherited": bool, "value": X}``, nothing else."""
    return (type(value) is dict or isinstance(value, Mapping)) and "inherited" in value and set(value) <= _WRAPPER_KEYS


def unwrap(value: Any) -> Any:
    """The plain (list) form of anything read from AM: a document, a group or one field's value.

    ``{"inherited": x, "value": v}`` → ``v`` and ``{"inherited": x}`` → ``None``, recursively; objects
    and lists item by item; ``_``-keys (``_id``, ``_type``...) and ``overrideOAuth2ClientConfig`` as they
    are. Plain input is returned unchanged (equal, not the same object), so unwrapping twice is harmless.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # most leaves: nothing to look at
        return value
    if is_wrapped(value):
        return unwrap(value.get("value"))
    if kind is dict or isinstance(value, Mapping):
        return {k: v if str(k).startswith("_") or k in UNWRAPPED_GROUPS else unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def _wrap_value(value: Any) -> Any:
    return {"inherited": False} if value is None else {"inherited": False, "value": value}


def wrap(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The wrapped form of a plain document (inverse of :func:`unwrap` on read shapes).

    Top-level groups (objects) have each field wrapped; other top-level non-underscore values (the
    AIAgent's ``aiAgentIdentityUid``) are wrapped whole. ``aiAgentIdentityAttributes`` is wrapped whole.
    """
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key.startswith("_") or key in UNWRAPPED_GROUPS or is_wrapped(value):
            out[key] = value
        elif key == "aiAgentIdentityAttributes" or not isinstance(value, Mapping):
            out[key] = _wrap_value(value)
        else:
            out[key] = {k: (v if k in PLAIN_FIELDS or is_wrapped(v) else _wrap_value(v)) for k, v in value.items()}
    return out


_LEAVES = frozenset({str, int, float, bool, list, type(None)})


def write_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """Body hygiene for AM PUTs (reference §4.4): drop ``_id``, ``_rev``, ``_provider`` and every
    ``*-encrypted`` key (at any depth); keep ``_type``."""
    return {
        k: _strip_encrypted(v)
        for k, v in body.items()
        if k not in ("_id", "_rev", "_provider") and not k.endswith("-encrypted")
    }


def _strip_encrypted(value: Any) -> Any:
    if type(value) is dict or (type(value) not in _LEAVES and isinstance(value, Mapping)):
        return {k: _strip_encrypted(v) for k, v in value.items() if not str(k).endswith("-encrypted")}
    return value
