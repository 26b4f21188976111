"""Pure claim checks on tokeninfo output (reference §8.2, §8.3): no I/O, one :class:`Check` per claim.

Claim shapes differ by endpoint and by grant: ``aud`` is a string when no audience was applied and an
array (client id first) when one was; ``scope`` is an array in tokeninfo and a space-separated string in
token and introspect responses. Every function here accepts both shapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from provisioner.grants import TOKEN_EXCHANGE
from provisioner.verify.model import FAIL, PASS, Check

_PLAN_HINT = "the tenant differs from the manifests; run `provisioner plan` to see the drift"


def values(claim: Any) -> list[str]:
    """A string-or-array claim (``aud``, ``scope``) as a list; a string ``scope`` is split on spaces."""
    if claim is None:
        return []
    if isinstance(claim, str):
        return [s for s in claim.split() if s]
    if isinstance(claim, (list, tuple, set, frozenset)):
        return [str(v) for v in claim if v not in (None, "")]
    return [str(claim)]


def aud_values(claim: Any) -> list[str]:
    """``aud`` as a list: a string is one audience (never split), an array is kept in order."""
    if claim is None:
        return []
    if isinstance(claim, str):
        return [claim] if claim else []
    return values(claim)


def fmt(items: Iterable[str]) -> str:
    """``[a, b]``, sorted, for expected/actual columns (scope order is not significant)."""
    return "[" + ", ".join(sorted(set(items))) + "]"


def show(claim: Any) -> str:
    """A claim value as text, preserving its shape (string vs array) so a reader sees what came back."""
    if claim is None:
        return "(absent)"
    if isinstance(claim, str):
        return repr(claim) if claim == "" else claim
    if isinstance(claim, (list, tuple)):
        return "[" + ", ".join(str(v) for v in claim) + "]"
    if isinstance(claim, Mapping):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in sorted(claim.items())) + "}"
    return str(claim)


def _check(name: str, group: str, expected: str, actual: str, ok: bool, message: str = "") -> Check:
    return Check(name, group, expected, actual, PASS if ok else FAIL, "" if ok else message)


def equals(name: str, group: str, claim: str, info: Mapping[str, Any], expected: str, why: str = "") -> Check:
    """``info[claim] == expected`` (string claims such as ``sub`` and ``grant_type``)."""
    actual = info.get(claim)
    message = f"{claim} is {show(actual)}, expected {expected}" + (f" — {why}" if why else "")
    return _check(f"{name}: {claim}", group, expected, show(actual), actual == expected, message)


def act_sub(name: str, group: str, info: Mapping[str, Any], agent: str) -> Check:
    """``act.sub`` names the acting agent (the exchange recorded who acts)."""
    act = info.get("act")
    actual = act.get("sub") if isinstance(act, Mapping) else None
    if not isinstance(act, Mapping):
        message = (
            "no act claim — the token was not issued by an AI-agent token exchange (is the acting client an AIAgent?)"
        )
    else:
        message = f"act.sub is {show(actual)}, expected {agent}"
    return _check(f"{name}: act.sub", group, agent, show(actual), actual == agent, message)


def aud_is(name: str, group: str, info: Mapping[str, Any], expected: str) -> Check:
    """``aud`` is exactly one audience (client-credentials token: the client itself), in either shape."""
    claim = info.get("aud")
    auds = aud_values(claim)
    message = f"aud is {show(claim)}, expected {expected} alone"
    return _check(f"{name}: aud", group, expected, show(claim), auds == [expected], message)


def aud_contains(name: str, group: str, info: Mapping[str, Any], required: Iterable[str]) -> Check:
    """``aud`` holds every ``required`` audience (exchanged tokens: agent and application)."""
    needed = list(dict.fromkeys(required))
    claim = info.get("aud")
    auds = aud_values(claim)
    missing = [a for a in needed if a not in auds]
    message = f"aud lacks {', '.join(missing)} — the tenant did not apply the requested audience" if missing else ""
    return _check(f"{name}: aud", group, "contains " + ", ".join(needed), show(claim), not missing, message)


def scope_exact(name: str, group: str, info: Mapping[str, Any], expected: Iterable[str], what: str = "asked") -> Check:
    """The granted ``scope`` set equals ``expected`` exactly (order and claim shape ignored)."""
    want = set(expected)
    got = set(values(info.get("scope")))
    missing, extra = sorted(want - got), sorted(got - want)
    parts = []
    if missing:
        parts.append(f"not granted {fmt(missing)}")
    if extra:
        parts.append(f"granted beyond what was {what} {fmt(extra)}")
    message = "; ".join(parts)
    if missing and what == "permitted":
        message += f" — {_PLAN_HINT}"
    return _check(f"{name}: scope", group, fmt(want), fmt(got), not parts, message)


def client_credentials_claims(
    group: str, agent: str, scopes: Iterable[str], info: Mapping[str, Any], name: str = "client credentials"
) -> list[Check]:
    """First token of the autonomous flow: ``sub`` = ``aud`` = the agent, ``scope`` as asked (§8.2)."""
    return [
        equals(name, group, "sub", info, agent),
        aud_is(name, group, info, agent),
        scope_exact(name, group, info, scopes, what="asked"),
    ]


def exchange_claims(
    group: str,
    name: str,
    info: Mapping[str, Any],
    *,
    subject: str,
    agent: str,
    application: str,
    permitted: Iterable[str],
) -> list[Check]:
    """An exchanged token (§8.3): ``sub`` = the subject, ``act.sub`` = the agent, ``aud`` ⊇ {agent,
    application}, ``scope`` = exactly the permitted scopes, ``grant_type`` = the token-exchange URN."""
    return [
        equals(name, group, "sub", info, subject),
        act_sub(name, group, info, agent),
        aud_contains(name, group, info, [agent, application]),
        scope_exact(name, group, info, permitted, what="permitted"),
        equals(name, group, "grant_type", info, TOKEN_EXCHANGE),
    ]
