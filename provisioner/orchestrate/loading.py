"""Manifests and the dotenv file, as the runs load them; and the per-process memo that lets
``apply(plan, paths=...)`` reuse what ``plan(paths)`` loaded."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.errors import ConfigurationError, ValidationFailed
from provisioner.plan import Plan


def load(
    paths: Sequence[str],
    env: str | None = None,
    env_file: str | None = None,
    environ: Mapping[str, str] | None = None,
    strict: bool = False,
    stack_name: str | None = None,
    secrets_dirs: Sequence[str] = (),
) -> Any:
    """Load and validate manifests (:func:`provisioner.manifest.load`); returns a ``LoadResult``."""
    from provisioner.manifest import load as _load

    return _load(
        list(paths),
        env=env,
        env_file=env_file,
        environ=os.environ if environ is None else environ,
        strict=strict,
        stack_name=stack_name,
        secrets_dirs=secrets_dirs,
    )


def read_env_file(env_file: str | None) -> dict[str, str]:
    """The ``--env-file`` dotenv mapping (empty without a file)."""
    if not env_file:
        return {}
    from provisioner.manifest import read_dotenv

    values, diagnostics = read_dotenv(env_file)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise ConfigurationError("; ".join(str(d) for d in errors))
    return values


def as_paths(subject: Any) -> list[str] | None:
    """The manifest paths ``subject`` names (a path or a list of them), else None."""
    if isinstance(subject, (str, os.PathLike)):
        return [os.fspath(subject)]
    if isinstance(subject, (list, tuple)):
        return [os.fspath(p) for p in subject]
    return None


def loaded_stack(subject: Any, **load_options: Any) -> tuple[Any, Any]:
    """``(stack, secrets)`` from a ``LoadResult``, a ``Stack`` (secrets None), or paths (loaded with
    ``load_options`` and validated here: invalid manifests raise :class:`ValidationFailed`)."""
    paths = as_paths(subject)
    if paths is not None:
        result = load(paths, **load_options)
        if not result.ok or result.stack is None:
            lines = "\n".join(str(d) for d in result.errors)
            raise ValidationFailed(f"the manifests are not valid:\n{lines}")
        return result.stack, result.secrets
    if hasattr(subject, "stack") and hasattr(subject, "secrets"):
        return subject.stack, subject.secrets
    return subject, None


#: What plan loaded to make each plan still alive in this process: id(plan) → (weak reference to the
#: plan, the note). Kept beside the plan, not on it: a Plan is frozen and its fields are its JSON.
_LOADED: dict[int, tuple[weakref.ref[Plan], tuple[Any, ...]]] = {}
_LOADED_LOCK = threading.Lock()


def load_key(paths: Sequence[str], env: str | None, env_file: str | None, stack_name: str | None) -> tuple[Any, ...]:
    """What identifies one load: the absolute paths, the environment, the dotenv file and the stack name."""
    return (tuple(os.path.abspath(p) for p in paths), env, os.path.abspath(env_file) if env_file else None, stack_name)


def _fingerprint(stack: Any, env_file: str | None) -> tuple[Any, ...]:
    """Size and mtime of every file a load read (manifests, environment file, dotenv)."""
    files: list[str] = list(getattr(stack, "sources", ()) or ())
    environment = getattr(stack, "environment", None)
    location = getattr(environment, "location", None)
    if location is not None:
        files.append(location.file)
    if env_file:
        files.append(env_file)
    out: list[tuple[str, int | None, int | None]] = []
    for name in files:
        try:
            info = os.stat(name)
            out.append((name, info.st_size, info.st_mtime_ns))
        except OSError:
            out.append((name, None, None))
    return tuple(out)


def remember_load(the_plan: Plan, key: tuple[Any, ...], stack: Any, secrets: Any, env_file: str | None) -> None:
    """Note, for as long as ``the_plan`` lives, the stack and secrets it was made from."""
    ident = id(the_plan)

    def forget(_: Any) -> None:
        with _LOADED_LOCK:
            entry = _LOADED.get(ident)
            if entry is not None and entry[0]() is None:
                del _LOADED[ident]

    with _LOADED_LOCK:
        _LOADED[ident] = (weakref.ref(the_plan, forget), (key, stack, secrets, _fingerprint(stack, env_file)))


def reuse_load(the_plan: Plan, key: tuple[Any, ...], env_file: str | None) -> tuple[Any, Any] | None:
    """The stack and secrets plan loaded for ``the_plan`` with the same arguments, when no file changed
    since; None otherwise (the caller loads again)."""
    with _LOADED_LOCK:
        entry = _LOADED.get(id(the_plan))
    note = entry[1] if entry is not None and entry[0]() is the_plan else None
    if note is None or note[0] != key:
        return None
    _, stack, secrets, fingerprint = note
    if _fingerprint(stack, env_file) != fingerprint:
        return None
    return stack, secrets
