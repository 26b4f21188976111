"""The plan as data: frozen records and the versioned JSON form (``docs/plan-format.md``).

A :class:`Plan` is a list of :class:`Change` records, each an action plus field-level before/after, the
ids and revisions of every remote object read for it (``observed``), the manifest-derived values apply
writes (``desired``), the tenant ids apply uses (:class:`Ids`) and the declared secret as a reference
(:class:`SecretReference`, never a value). ``reason`` and the field list explain a change; apply is
steered by ``action``, ``observed``, ``desired``, ``ids``, ``secret`` and ``send_secret`` only.
Everything apply reads is validated in ``from_dict``, so a hand-edited plan fails on load, not mid-apply.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FORMAT_VERSION = "2"
ACTIONS = ("create", "update", "delete", "no-op")
Action = Literal["create", "update", "delete", "no-op"]


class PlanFormatError(ValueError):
    """A plan file that is not a plan this version understands."""


@dataclass(frozen=True)
class SecretReference:
    """Where a declared ``clientSecret`` comes from: ``{fromEnv: NAME}`` or ``{fromFile: PATH}``.

    ``base`` is the folder a relative ``fromFile`` path was declared in (the manifest's directory): two
    folders that both say ``{fromFile: secret.txt}`` are two different secrets. ``str()`` is the
    reference as written, for messages.
    """

    source: Literal["env", "file"]
    name: str
    base: str = ""

    def __str__(self) -> str:
        return f"{{fromEnv: {self.name}}}" if self.source == "env" else f"{{fromFile: {self.name}}}"

    @property
    def path(self) -> str:
        """The file a ``fromFile`` reference reads (``base`` joined with ``name``)."""
        return os.path.normpath(os.path.join(self.base or ".", self.name))

    def key(self) -> tuple[str, str]:
        """What identifies the secret regardless of how the folder was spelt (relative or absolute)."""
        return (self.source, os.path.abspath(self.path) if self.source == "file" else self.name)

    @classmethod
    def of(cls, ref: Any) -> SecretReference:
        """From a manifest ``SecretRef`` (anything with ``source``, ``name`` and ``base``)."""
        source: Literal["env", "file"] = "file" if ref.source == "file" else "env"
        return cls(
            source=source, name=str(ref.name), base=str(getattr(ref, "base", "") or "") if source == "file" else ""
        )

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "name": self.name, "base": self.base}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> SecretReference:
        if not isinstance(data, Mapping):
            raise PlanFormatError(f"{where}: secret must be an object {{source, name, base}}")
        source, name, base = data.get("source"), data.get("name"), data.get("base", "")
        if source not in ("env", "file"):
            raise PlanFormatError(f"{where}: secret.source must be 'env' or 'file', not {source!r}")
        if not isinstance(name, str) or not name:
            raise PlanFormatError(f"{where}: secret.name must be a non-empty string")
        if not isinstance(base, str):
            raise PlanFormatError(f"{where}: secret.base must be a string")
        unknown = sorted(set(data) - {"source", "name", "base"})
        if unknown:
            raise PlanFormatError(f"{where}: unknown secret key(s) {', '.join(unknown)}")
        return cls(source=source, name=name, base=base)


#: JSON key → attribute of :class:`Ids`.
_ID_KEYS = {
    "record": "record",
    "identity": "identity",
    "privilege": "privilege",
    "agent": "agent",
    "agentKey": "agent_key",
    "resource": "resource",
    "application": "application",
}


@dataclass(frozen=True)
class Ids:
    """The tenant ids apply writes to or with (each kind uses a few; absent ones are None).

    ``record``: an application's IDM record; ``identity``: an agent's IDM identity; ``privilege``: an
    agent privilege's IDM id, and for its create ``agent`` (the agent identity), ``agent_key`` (the
    agent's client id, to pick up the identity a create in the same apply made), ``resource`` (the
    application record) and ``application`` (the application's client id).
    """

    record: str | None = None
    identity: str | None = None
    privilege: str | None = None
    agent: str | None = None
    agent_key: str | None = None
    resource: str | None = None
    application: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {key: getattr(self, attr) for key, attr in _ID_KEYS.items() if getattr(self, attr) is not None}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Ids:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise PlanFormatError(f"{where}: ids must be an object")
        unknown = sorted(set(data) - set(_ID_KEYS))
        if unknown:
            raise PlanFormatError(f"{where}: unknown id key(s) {', '.join(map(str, unknown))}")
        for key, value in data.items():
            if value is not None and not isinstance(value, str):
                raise PlanFormatError(f"{where}: ids.{key} must be a string")
        return cls(**{_ID_KEYS[k]: v for k, v in data.items()})


@dataclass(frozen=True)
class FieldChange:
    """One manifest field's before and after (``sensitive``: values are never shown)."""

    path: str
    before: Any = None
    after: Any = None
    sensitive: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after, "sensitive": self.sensitive}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldChange:
        return cls(
            path=str(data["path"]),
            before=data.get("before"),
            after=data.get("after"),
            sensitive=bool(data.get("sensitive", False)),
        )


@dataclass(frozen=True)
class Change:
    """One object's planned action."""

    address: str
    kind: str
    realm: str
    key: str
    action: Action
    fields: tuple[FieldChange, ...] = ()
    depends_on: tuple[str, ...] = ()
    observed: Mapping[str, Any] = field(default_factory=dict)
    desired: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""
    ids: Ids = field(default_factory=Ids)
    #: The declared ``clientSecret`` (a reference; apply resolves it), None when none is declared.
    secret: SecretReference | None = None
    #: The tenant does not hold ``secret`` (hash marker or live probe): apply sends it on update.
    send_secret: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind,
            "realm": self.realm,
            "key": self.key,
            "action": self.action,
            "fields": [f.to_dict() for f in self.fields],
            "depends_on": list(self.depends_on),
            "observed": _plain(self.observed),
            "desired": _plain(self.desired),
            "reason": self.reason,
            "ids": self.ids.to_dict(),
            "secret": self.secret.to_dict() if self.secret else None,
            "send_secret": self.send_secret,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        if not isinstance(data, Mapping):
            raise PlanFormatError("a change must be an object")
        where = f"change {data.get('address')!r}"
        action = data.get("action")
        if action not in ACTIONS:
            raise PlanFormatError(f"unknown action {action!r} in {where}")
        missing = [k for k in ("address", "kind", "realm", "key") if not isinstance(data.get(k), str)]
        if missing:
            raise PlanFormatError(f"{where}: missing or non-string {', '.join(missing)}")
        for name in ("observed", "desired"):
            if not isinstance(data.get(name) or {}, Mapping):
                raise PlanFormatError(f"{where}: {name} must be an object")
        for remote, seen in (data.get("observed") or {}).items():
            if seen is not None and not (isinstance(seen, Mapping) and "rev" in seen):
                raise PlanFormatError(f"{where}: observed.{remote} must be null or an object with a rev")
        send_secret = data.get("send_secret", False)
        if not isinstance(send_secret, bool):
            raise PlanFormatError(f"{where}: send_secret must be true or false")
        secret = data.get("secret")
        return cls(
            address=data["address"],
            kind=data["kind"],
            realm=data["realm"],
            key=data["key"],
            action=action,
            fields=tuple(FieldChange.from_dict(f) for f in data.get("fields") or []),
            depends_on=tuple(str(d) for d in data.get("depends_on") or []),
            observed=dict(data.get("observed") or {}),
            desired=dict(data.get("desired") or {}),
            reason=str(data.get("reason") or ""),
            ids=Ids.from_dict(data.get("ids"), where),
            secret=None if secret is None else SecretReference.from_dict(secret, where),
            send_secret=send_secret,
        )


@dataclass(frozen=True)
class Blocked:
    """A delete the plan will not perform, and why (prune off, cap exceeded)."""

    address: str
    kind: str
    realm: str
    key: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "kind": self.kind, "realm": self.realm, "key": self.key, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Blocked:
        return cls(**{k: str(data[k]) for k in ("address", "kind", "realm", "key", "reason")})


@dataclass(frozen=True)
class PlanDiagnostic:
    """A plan-time problem; ``location`` is ``file:line:col`` of the manifest field when known."""

    severity: Literal["error", "warning"]
    message: str
    location: str = ""
    path: str = ""

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        path = f"{self.path}: " if self.path else ""
        return f"{where}{path}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "message": self.message, "location": self.location, "path": self.path}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanDiagnostic:
        severity: Literal["error", "warning"] = "warning" if data.get("severity") == "warning" else "error"
        return cls(
            severity=severity,
            message=str(data.get("message", "")),
            location=str(data.get("location") or ""),
            path=str(data.get("path") or ""),
        )


@dataclass(frozen=True)
class Plan:
    """An ordered list of changes for one stack against one tenant."""

    format_version: str
    stack: str
    target: Mapping[str, Any]
    environment: str | None
    changes: tuple[Change, ...]
    blocked: tuple[Blocked, ...] = ()
    diagnostics: tuple[PlanDiagnostic, ...] = ()
    summary: Mapping[str, int] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    #: The access difference the plan makes (``{realm, agent, application, change, text}``); explanatory.
    access: tuple[Mapping[str, Any], ...] = ()

    @property
    def has_changes(self) -> bool:
        """Anything differs: a write to make, or a delete that waits for ``--prune`` (blocked)."""
        return self.has_writes or bool(self.blocked)

    @property
    def has_writes(self) -> bool:
        """Apply would write something (blocked deletes are not written)."""
        return any(c.action != "no-op" for c in self.changes)

    @property
    def errors(self) -> tuple[PlanDiagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    def to_dict(self, *, no_ops: bool = True) -> dict[str, Any]:
        """The JSON plan as a dict (format ``1``). ``no_ops=False`` leaves the no-op changes out: what the
        text renderer (without ``verbose``) and the Markdown renderer show, never a plan file (a no-op
        plan of thousands of objects is then rendered without converting them)."""
        return {
            "format_version": self.format_version,
            "stack": self.stack,
            "target": _plain(self.target),
            "environment": self.environment,
            "changes": [c.to_dict() for c in self.changes if no_ops or c.action != "no-op"],
            "blocked": [b.to_dict() for b in self.blocked],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "summary": dict(self.summary),
            "options": _plain(self.options),
            "access": [_plain(a) for a in self.access],
        }

    def to_json(self) -> str:
        """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        if not isinstance(data, Mapping) or "format_version" not in data:
            raise PlanFormatError("not a provisioner plan (no format_version)")
        if str(data["format_version"]) != FORMAT_VERSION:
            raise PlanFormatError(
                f"plan format_version {data['format_version']!r} is not supported "
                f"(this version reads {FORMAT_VERSION!r}); run plan again"
            )
        if not isinstance(data.get("changes") or [], list):
            raise PlanFormatError("changes must be a list")
        return cls(
            format_version=FORMAT_VERSION,
            stack=str(data.get("stack") or ""),
            target=dict(data.get("target") or {}),
            environment=data.get("environment"),
            changes=tuple(Change.from_dict(c) for c in data.get("changes") or []),
            blocked=tuple(Blocked.from_dict(b) for b in data.get("blocked") or []),
            diagnostics=tuple(PlanDiagnostic.from_dict(d) for d in data.get("diagnostics") or []),
            summary={str(k): int(v) for k, v in (data.get("summary") or {}).items()},
            options=dict(data.get("options") or {}),
            access=tuple(dict(a) for a in data.get("access") or [] if isinstance(a, Mapping)),
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanFormatError(f"plan file is not JSON: {exc}") from None
        return cls.from_dict(data)


def summarize(changes: tuple[Change, ...], blocked: tuple[Blocked, ...]) -> dict[str, int]:
    """Counts per action plus blocked deletes."""
    counts = {a: 0 for a in ACTIONS}
    for change in changes:
        counts[change.action] += 1
    counts["blocked"] = len(blocked)
    return counts


#: Types :func:`_plain` returns as they are (checked by exact type: the common leaves of a plan).
_ATOMS = frozenset({str, int, bool, float, type(None)})


def _plain(value: Any) -> Any:
    """A JSON-plain deep copy (tuples → lists, mappings → dicts)."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is dict:
        return _plain_dict(value)
    if kind is list or kind is tuple:
        return _plain_list(value)
    if isinstance(value, Mapping):
        return _plain_dict(value)
    if isinstance(value, (list, tuple)):
        return _plain_list(value)
    return value


# Leaves are copied inline (a call per string was most of the cost: a plan has ~20 per change).
def _plain_dict(value: Mapping[Any, Any]) -> dict[str, Any]:
    atoms = _ATOMS
    return {
        k if type(k) is str else str(k): v if type(v) in atoms else _plain_dict(v) if type(v) is dict else _plain(v)
        for k, v in value.items()
    }


def _plain_list(value: Any) -> list[Any]:
    atoms = _ATOMS
    return [v if type(v) in atoms else _plain(v) for v in value]
