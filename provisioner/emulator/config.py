"""The emulator's switches (reference §11): names, defaults, allowed values, live typed reads.

``Config`` is a read-only ``Mapping`` (what the OAuth runtime receives as ``options``) with a
``update`` for ``PATCH /_emulator/config`` and the ``--option key=value`` CLI flag. Token switches are
owned by the OAuth runtime (``provisioner.emulator.oauth.options``) and merged in when available.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    "sa.sessionLimit": 5,  # §11 row 1
    "sa.sessionLimitMode": "deny",
    "sa.maxAssertionLifetime": 900,  # row 2
    "sa.tokenLifetime": 900,
    "am.provider.putMode": "replace",  # row 3
    "am.ifMatch": "ignore",  # row 4
    "am.strictGrantTypes": False,  # row 5
    "am.aiagent.requireResource20": True,  # row 6
    "am.aiagent.ifNoneMatch": "enforce",  # row 7
    "am.aiagent.topLevelSecret": True,  # row 8
    "am.aiagent.syncIdentity": True,  # row 9
    "am.aiagent.deleteCascade": True,  # row 10
    "am.list.pageSize": "ignore",  # row 11
    "am.list.fields": "honor",  # CREST `_fields` on AM lists (inferred: CREST filters query results)
    "am.clientIdPattern": "enforce",  # row 30
    "am.csrf": "enforce",
    "am.tenantVersion": "2026-07",  # W12/R4: the newest tenant; 2026-05 lacks three defaults
    "idm.put.clearOmittedRelationships": True,  # row 12
    "idm.app.deleteCascade": False,  # row 13
    "idm.groups.nested": False,  # row 20
    "feature.aiagents": "enabled",  # row 29 (tenant state; see Backend)
}

CHOICES: dict[str, tuple[Any, ...]] = {
    "sa.sessionLimitMode": ("deny", "evict-oldest", "off"),
    "am.provider.putMode": ("replace", "merge"),
    "am.ifMatch": ("ignore", "enforce"),
    "am.aiagent.ifNoneMatch": ("enforce", "ignore"),
    "am.list.pageSize": ("ignore", "truncate"),
    "am.list.fields": ("honor", "ignore", "rehash"),
    "am.clientIdPattern": ("enforce", "ignore"),
    "am.csrf": ("enforce", "ignore"),
    "am.tenantVersion": ("2026-07", "2026-05"),
    "feature.aiagents": ("enabled", "disabled"),
}


def _oauth_defaults() -> tuple[dict[str, Any], dict[str, tuple[Any, ...]]]:
    from .oauth import options

    return dict(options.DEFAULTS), dict(getattr(options, "CHOICES", {}))


def all_defaults() -> tuple[dict[str, Any], dict[str, tuple[Any, ...]]]:
    defaults, choices = dict(DEFAULTS), dict(CHOICES)
    extra_defaults, extra_choices = _oauth_defaults()
    defaults.update(extra_defaults)
    choices.update(extra_choices)
    return defaults, choices


def coerce(name: str, value: Any, default: Any, choices: tuple[Any, ...] | None) -> Any:
    """``value`` (maybe text from the CLI) converted to the type of ``default``; ValueError if unusable."""
    if isinstance(default, bool):
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("true", "1", "yes", "on", "enabled"):
                return True
            if text in ("false", "0", "no", "off", "disabled"):
                return False
            raise ValueError(f"{name}: expected true or false, got {value!r}")
        return bool(value)
    if isinstance(default, int):
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: expected an integer, got {value!r}") from None
    elif isinstance(default, (dict, list)) and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{name}: expected JSON, got {value!r}") from None
    if choices and value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(map(str, choices))}, got {value!r}")
    return value


class Config(Mapping[str, Any]):
    """Live switch values; thread-safe; unknown names are rejected."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self._defaults, self._choices = all_defaults()
        self._lock = threading.Lock()
        self._initial = dict(self._defaults)
        for name, value in (options or {}).items():
            self._initial[name] = self._coerce(name, value)
        self._values = dict(self._initial)
        self.version = 0  # grows with every change (the emulator's read cache keys on it)

    def _coerce(self, name: str, value: Any) -> Any:
        if name not in self._defaults:
            raise ValueError(f"unknown emulator option {name!r}")
        return coerce(name, value, self._defaults[name], self._choices.get(name))

    def __getitem__(self, name: str) -> Any:
        with self._lock:
            return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._values))

    def __len__(self) -> int:
        return len(self._values)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(sorted(self._values.items()))

    def update(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply ``changes`` all or nothing (ValueError on an unknown name or a bad value)."""
        coerced = {name: self._coerce(name, value) for name, value in changes.items()}
        with self._lock:
            self._values.update(coerced)
            self.version += 1
        return coerced

    def reset(self) -> None:
        with self._lock:
            self._values = dict(self._initial)
            self.version += 1

    def flag(self, name: str) -> bool:
        return bool(self[name])


def parse_options(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["a=b", ...]`` from the CLI to a dict (ValueError on an item without ``=``)."""
    options: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--option expects key=value, got {pair!r}")
        options[name.strip()] = value.strip()
    return options
