"""Seed files: the users and groups an emulated tenant starts with (``emulator serve --seed FILE``, and
``emulator-seed.yaml`` next to a stack's manifests for ``--tenant local``).

A seed file is YAML (or JSON), one document per realm::

    realm: alpha                      # default: alpha
    users:
      - userName: demo-user
        password: {fromEnv: DEMO_USER_PASSWORD}   # or a {fromFile: PATH}; literals work too
        givenName: Demo
    groups:
      - name: digital-assistant-users          # the group's id (``_id`` works too)
        members: [demo-user]                    # user names

Seeding is an upsert: loading the same file again changes nothing. ``{fromEnv}`` reads the process
environment, then the ``--env-file``; ``{fromFile}`` is relative to the seed file. Values read from
references are registered with the redaction layer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from provisioner import redact, safefile
from provisioner.errors import UsageError

#: The seed file ``--tenant local`` loads when it sits in a stack's manifest directory.
STACK_SEED_FILE = "emulator-seed.yaml"
_MAX_BYTES = 1 << 20


def _value(value: Any, where: str, base: str, environ: Mapping[str, str], dotenv: Mapping[str, str]) -> Any:
    if not isinstance(value, Mapping):
        return value
    if set(value) == {"fromEnv"}:
        name = str(value["fromEnv"])
        text = environ.get(name) or dotenv.get(name)
        if not text:
            raise UsageError(f"{where}: {{fromEnv: {name}}} is not set (in the environment or the --env-file)")
        redact.register(text)
        return text
    if set(value) == {"fromFile"}:
        path = os.path.join(base, str(value["fromFile"]))
        key_file = environ.get("AIC_SERVICE_ACCOUNT_JWK_FILE") or dotenv.get("AIC_SERVICE_ACCOUNT_JWK_FILE") or ""
        try:  # the manifests' rules: inside the seed file's folder, a regular file of at most 64 KiB
            real = safefile.confined(path, (base,), (key_file,))
            text = safefile.read_bytes(real, 64 * 1024).decode("utf-8").removesuffix("\n")
        except safefile.FileRefused as exc:
            raise UsageError(f"{where}: {{fromFile: {value['fromFile']}}}: {exc}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{where}: {{fromFile: {value['fromFile']}}} is not valid UTF-8") from None
        except OSError as exc:
            raise UsageError(f"{where}: cannot read {{fromFile: {value['fromFile']}}}: {exc.strerror}") from None
        redact.register(text)
        return text
    return {k: _value(v, f"{where}.{k}", base, environ, dotenv) for k, v in value.items()}


def read_seed_file(
    path: str, environ: Mapping[str, str], dotenv: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The seed bodies (one per realm document) of ``path``; a :class:`UsageError` saying where otherwise."""
    import yaml

    dotenv = dotenv or {}
    try:
        text = safefile.read_bytes(path, _MAX_BYTES, what="seed file").decode("utf-8")
    except safefile.FileRefused as exc:
        raise UsageError(str(exc)) from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the seed file is not valid UTF-8") from None
    except OSError as exc:
        raise UsageError(f"cannot read the seed file {path}: {exc.strerror}") from None
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise UsageError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    base = os.path.dirname(os.path.abspath(path))
    bodies = []
    for index, document in enumerate(documents):
        where = f"{path} (document {index + 1})" if len(documents) > 1 else path
        if not isinstance(document, Mapping):
            raise UsageError(f"{where}: expected a mapping with realm, users and groups")
        unknown = sorted(set(document) - {"realm", "users", "groups"})
        if unknown:
            raise UsageError(f"{where}: unknown key {unknown[0]!r} (expected realm, users, groups)")
        users, groups = document.get("users") or [], document.get("groups") or []
        if not isinstance(users, list) or not isinstance(groups, list):
            raise UsageError(f"{where}: users and groups must be lists")
        out_users = []
        for i, user in enumerate(users):
            if not isinstance(user, Mapping) or not isinstance(user.get("userName"), str):
                raise UsageError(f"{where}: users[{i}] needs a userName")
            out_users.append(_value(dict(user), f"{where}: users[{i}]", base, environ, dotenv))
        out_groups = []
        for i, group in enumerate(groups):
            if not isinstance(group, Mapping):
                raise UsageError(f"{where}: groups[{i}] must be a mapping")
            group = dict(group)
            gid = group.pop("_id", None) or group.get("name")
            if not isinstance(gid, str) or not gid:
                raise UsageError(f"{where}: groups[{i}] needs a name")
            members = group.get("members") or []
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                raise UsageError(f"{where}: groups[{i}].members must be a list of user names")
            out_groups.append({"_id": gid, **group})
        bodies.append({"realm": str(document.get("realm") or "alpha"), "users": out_users, "groups": out_groups})
    return bodies


def apply_seed(server: Any, bodies: list[dict[str, Any]], source: str = "seed file") -> dict[str, int]:
    """Upsert ``bodies`` into a running or created :class:`EmulatorServer` (no HTTP); counts of users and groups."""
    users = groups = 0
    for body in bodies:
        from provisioner.emulator.errors import EmulatorError

        try:
            result = server.backend.seed(body)
        except EmulatorError as exc:  # BadRequest: an unknown realm or member
            raise UsageError(f"{source}: {getattr(exc, 'message', None) or exc}") from None
        users += len(result["users"])
        groups += len(result["groups"])
    return {"users": users, "groups": groups}


def stack_seed_files(paths: list[str] | tuple[str, ...]) -> list[str]:
    """``emulator-seed.yaml`` files in the given manifest directories (or beside the given files)."""
    found: list[str] = []
    for path in paths:
        if path == "-":
            continue
        folder = path if os.path.isdir(path) else os.path.dirname(path) or "."
        candidate = os.path.join(folder, STACK_SEED_FILE)
        if os.path.isfile(candidate) and candidate not in found:
            found.append(candidate)
    return found
