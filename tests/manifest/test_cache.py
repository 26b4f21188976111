"""The manifest cache (provisioner/manifest/cache.py): a warm load gives exactly what a cold one gives,
a changed file is read again, a corrupt or foreign entry is ignored, no secret value is ever stored."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from provisioner.manifest import cache, load

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "manifests" / "bot-traffic-analyzer"
SECRETS = {"LOGS_API_APP_SECRET": "cache-test-app-secret-Qm81zT0", "BOT_AGENT_SECRET": "cache-test-agent-secret-Pz4kW2"}


class Environ(dict):  # type: ignore[type-arg]
    """The load's environment; never shown in a failure report (it holds the test's secrets)."""

    def __repr__(self) -> str:
        return "<environ>"


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Environ:
    """A copy of the example stack, a private working directory and user cache directory."""
    shutil.copytree(EXAMPLE, tmp_path / "stack")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setattr(cache, "_disabled", False)
    return Environ({**SECRETS, "XDG_CACHE_HOME": str(tmp_path / "user-cache"), "HOME": str(tmp_path)})


def entries(root: Path | None = None) -> list[Path]:
    folder = (root or Path.cwd()) / cache.CACHE_DIR
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def loaded(stack: Path, environ: dict[str, str]) -> tuple[list[object], list[str]]:
    result = load([str(stack)], environ=environ)
    assert result.stack is not None
    return list(result.stack.resources), [str(d) for d in result.diagnostics]


def test_a_warm_load_equals_a_cold_load(place: Environ, tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    cold = loaded(stack, place)
    assert len(entries()) == 3  # agent, application, provider (provisioner.yaml is not a manifest)
    warm = loaded(stack, place)
    assert warm == cold
    off = loaded(stack, Environ({**place, cache.ENV_VAR: "off"}))
    assert off == cold
    for resource in warm[0]:
        assert dict(resource.field_locations) == dict(  # type: ignore[attr-defined]
            next(r for r in cold[0] if r == resource).field_locations  # type: ignore[attr-defined]
        )


def test_folders_and_files_are_private_and_ignored_by_git(place: Environ, tmp_path: Path) -> None:
    loaded(tmp_path / "stack", place)
    folder = Path.cwd() / cache.CACHE_DIR
    for path in (folder, folder.parent, Path.cwd() / ".provisioner"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    for path in [*entries(), tmp_path / "user-cache" / "provisioner" / cache.KEY_FILE]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (folder.parent / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"


def test_a_readable_provisioner_folder_is_used_a_writable_one_is_not(place: Environ, tmp_path: Path) -> None:
    """``.provisioner`` may already exist (the journal's folder, 0755): used. A folder others can write
    into could have entries swapped under us: the cache is skipped (the load is the same)."""
    stack = tmp_path / "stack"
    (Path.cwd() / ".provisioner").mkdir(mode=0o755)
    (Path.cwd() / ".provisioner").chmod(0o755)
    cold = loaded(stack, place)
    assert len(entries()) == 3
    shutil.rmtree(Path.cwd() / ".provisioner")
    (Path.cwd() / ".provisioner").mkdir()
    (Path.cwd() / ".provisioner").chmod(0o777)
    assert loaded(stack, place) == cold
    assert entries() == []


def test_a_changed_file_is_read_again(place: Environ, tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    loaded(stack, place)
    agent = stack / "agent.yaml"
    text = agent.read_text(encoding="utf-8")
    assert "description:" in text
    agent.write_text(text.replace("description:", "description: changed", 1).replace("changed ", "changed-", 1))
    resources, _ = loaded(stack, place)
    described = [r.spec.get("description") for r in resources if r.kind == "AIAgent"]  # type: ignore[attr-defined]
    assert any(str(d).startswith("changed") for d in described), described
    # An error now: reported (from the file, not from the cache), and the broken version is not cached.
    agent.write_text(text.replace("kind: AIAgent", "kind: AIAgentt", 1), encoding="utf-8")
    result = load([str(stack)], environ=place)
    assert not result.ok
    assert any("unknown kind 'AIAgentt'" in str(d) for d in result.diagnostics)
    assert load([str(stack)], environ=place).diagnostics == result.diagnostics


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated
        lambda raw: b"not a cache entry",
        lambda raw: b"",
        # a valid-looking entry whose body was changed (an entry written by someone else): the MAC fails
        lambda raw: raw.replace(b'"grantTypes"', b'"grantTypez"', 1),
    ],
)
def test_a_corrupt_or_foreign_entry_is_ignored_and_rewritten(place: Environ, tmp_path: Path, damage) -> None:
    stack = tmp_path / "stack"
    cold = loaded(stack, place)
    for path in entries():
        path.write_bytes(damage(path.read_bytes()))
    assert loaded(stack, place) == cold
    assert loaded(stack, place) == cold  # the rewritten entries are good ones
    for path in entries():
        mac, _, body = path.read_bytes().partition(b"\n")
        assert json.loads(body)["resources"]


def test_an_entry_under_another_users_key_is_ignored(place: Environ, tmp_path: Path) -> None:
    """A cache folder that came from elsewhere (committed to a repository, copied from another machine)
    was signed with another key: never trusted, even when its key field matches the file."""
    stack = tmp_path / "stack"
    cold = loaded(stack, place)
    forged = json.loads(entries()[0].read_bytes().partition(b"\n")[2])
    forged["resources"][0]["name"] = "someone-else"
    body = json.dumps(forged).encode()
    for path in entries():
        path.write_bytes(b"0" * 64 + b"\n" + body)
    assert loaded(stack, place) == cold


def test_no_secret_value_is_ever_stored(place: Environ, tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    (stack / "secret.txt").write_text("cache-test-file-secret-Hy62Lq\n", encoding="utf-8")
    app = stack / "application.yaml"
    app.write_text(
        app.read_text(encoding="utf-8").replace("{fromEnv: LOGS_API_APP_SECRET}", "{fromFile: secret.txt}"),
        encoding="utf-8",
    )
    result = load([str(stack)], environ=place)
    assert result.ok, result.diagnostics
    assert "{fromFile: secret.txt}" in app.read_text(encoding="utf-8")
    values = [*SECRETS.values(), "cache-test-file-secret-Hy62Lq"]
    assert (
        sorted(
            result.secrets.resolve(r.spec["clientSecret"]) for r in result.stack.resources if "clientSecret" in r.spec
        )
        == sorted(  # type: ignore[union-attr]
            values[1:]
        )
    )
    stored = b"".join(p.read_bytes() for p in (Path.cwd() / ".provisioner").rglob("*") if p.is_file())
    assert b'"$secretRef":["file","secret.txt"' in stored and b'"$secretRef":["env","BOT_AGENT_SECRET"' in stored
    for value in values:
        assert value.encode() not in stored
    # A literal secret is an error: that file is not cached at all.
    before = {p: p.read_bytes() for p in entries()}
    app.write_text(
        app.read_text(encoding="utf-8").replace("{fromFile: secret.txt}", "literal-secret-in-manifest-Xw93"),
        encoding="utf-8",
    )
    assert not load([str(stack)], environ=place).ok
    after = b"".join(p.read_bytes() for p in entries())
    assert b"literal-secret-in-manifest-Xw93" not in after
    assert {p: p.read_bytes() for p in entries()} == before
    app.unlink()  # the suite's leak scan reads every file a test leaves


def test_a_template_is_cached_with_what_it_renders_to(place: Environ, tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    (stack / "environments").mkdir(exist_ok=True)
    (stack / "environments" / "t.yaml").write_text("tenant: local\nrealm: alpha\nvars: {who: x}\n", encoding="utf-8")
    agent = stack / "agent.yaml"
    text = agent.read_text(encoding="utf-8")
    assert "  description: Finds bot traffic in the web server logs\n" in text
    agent.write_text(text.replace("description: Finds bot traffic in the web server logs", "description: '{{ who }}'"))
    result = load([str(stack)], env="t", environ=place)
    assert result.ok, [str(d) for d in result.diagnostics]
    assert len(entries()) == 3
    assert load([str(stack)], env="t", environ=place).stack == result.stack
    (stack / "environments" / "t.yaml").write_text("tenant: local\nrealm: alpha\nvars: {who: y}\n", encoding="utf-8")
    again = load([str(stack)], env="t", environ=place)
    assert [r.spec.get("description") for r in again.stack.resources if r.kind == "AIAgent"] == ["y"]  # type: ignore[union-attr]


def test_the_cli_reuses_the_cache_and_no_cache_turns_it_off(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "stack")
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("CI", cache.ENV_VAR)},
        **SECRETS,
        "PYTHONPATH": str(ROOT),
        "XDG_CACHE_HOME": str(tmp_path / "user-cache"),
    }

    def validate(*extra: str, cwd: Path) -> str:
        cwd.mkdir(exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "provisioner", "validate", str(tmp_path / "stack"), *extra],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = validate(cwd=tmp_path / "a")
    assert len(entries(tmp_path / "a")) == 3
    stamps = [p.stat().st_mtime_ns for p in entries(tmp_path / "a")]
    assert validate(cwd=tmp_path / "a") == first
    assert [p.stat().st_mtime_ns for p in entries(tmp_path / "a")] == stamps  # read, not written again
    assert validate("--no-cache", cwd=tmp_path / "b") == first
    assert not (tmp_path / "b" / ".provisioner").exists()
    env[cache.ENV_VAR] = "off"
    assert validate(cwd=tmp_path / "c") == first
    assert not (tmp_path / "c" / ".provisioner").exists()


def test_diagnostics_of_cached_files_point_where_the_cold_load_does(place: Environ, tmp_path: Path) -> None:
    """Rules across documents run on cached resources too, with the same locations: a second agent file
    declaring the same client id (each file is clean on its own, so both are cached)."""
    stack = tmp_path / "stack"
    shutil.copy(stack / "agent.yaml", stack / "agent-copy.yaml")
    cold = load([str(stack)], environ=place)
    assert len(entries()) == 4
    warm = load([str(stack)], environ=place)
    assert not cold.ok and [str(d) for d in warm.diagnostics] == [str(d) for d in cold.diagnostics]
    assert any("duplicate client ID" in str(d) and "agent-copy.yaml:" in str(d) for d in warm.diagnostics)


def test_stored_locations_compare_equal_to_the_loaders_mapping() -> None:
    from provisioner.manifest.cache_entries import Locations as _Locations
    from provisioner.manifest.model import SourceLocation

    table = "\nspec.scopes\t4\t3\nspec.scopes[0]\t4\t12"
    stored = _Locations("a.yaml", table)
    same = {"spec.scopes": SourceLocation("a.yaml", 4, 3), "spec.scopes[0]": SourceLocation("a.yaml", 4, 12)}
    assert stored == same and stored == _Locations("a.yaml", table)
    assert stored != {**same, "spec.scopes[0]": SourceLocation("a.yaml", 5, 12)}
    assert stored != {"spec.scopes": SourceLocation("a.yaml", 4, 3)}


def _documents() -> list[Path]:
    folder = Path.cwd() / ".provisioner" / "cache" / cache.DOCUMENTS_DIR
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def test_the_stack_file_and_environment_files_are_parsed_again_when_changed(place: Environ, tmp_path: Path) -> None:
    """``provisioner.yaml`` and ``environments/*.yaml`` are parsed from the cache when unchanged (a warm load
    needs no YAML parser), and every change is seen: the selected environment, another environment's policy
    (warnings) and the stack file."""
    stack = tmp_path / "stack"
    cold = load([str(stack)], env="dev", environ=place)
    assert cold.ok and len(_documents()) == 4  # provisioner.yaml and three environment files
    warm = load([str(stack)], env="dev", environ=place)
    assert warm.stack == cold.stack and warm.diagnostics == cold.diagnostics
    assert warm.stack is not None and warm.stack.environment is not None
    assert warm.stack.environment.location == cold.stack.environment.location  # type: ignore[union-attr]

    dev = stack / "environments" / "dev.yaml"
    dev.write_text(dev.read_text(encoding="utf-8").replace('" (dev)"', '" (dev2)"'), encoding="utf-8")
    changed = load([str(stack)], env="dev", environ=place)
    assert changed.stack is not None and changed.stack.environment is not None
    assert changed.stack.environment.vars == {"nameSuffix": " (dev2)"}

    staging = stack / "environments" / "staging.yaml"
    staging.write_text(staging.read_text(encoding="utf-8") + "policy:\n  maxAccessTokenLifetime: 60\n")
    warned = load([str(stack)], env="dev", environ=place)
    assert any("staging" in d.message and d.severity == "warning" for d in warned.diagnostics), warned.diagnostics
    assert load([str(stack)], env="dev", environ=place).diagnostics == warned.diagnostics

    (stack / "provisioner.yaml").write_text("stack: renamed-stack\n", encoding="utf-8")
    renamed = load([str(stack)], env="dev", environ=place)
    assert renamed.stack is not None and renamed.stack.name == "renamed-stack"
    (stack / "provisioner.yaml").write_text("stack: [broken\n", encoding="utf-8")
    broken = load([str(stack)], env="dev", environ=place)
    assert any("provisioner.yaml" in str(d) and "YAML syntax error" in d.message for d in broken.errors)
    assert load([str(stack)], env="dev", environ=place).diagnostics == broken.diagnostics


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],
        lambda raw: b"",
        lambda raw: raw.replace(b'"alpha"', b'"beta"', 1),  # the body changed: the MAC fails
    ],
)
def test_a_corrupt_or_foreign_document_entry_is_ignored(place: Environ, tmp_path: Path, damage) -> None:
    stack = tmp_path / "stack"
    cold = load([str(stack)], env="dev", environ=place)
    for path in _documents():
        path.write_bytes(damage(path.read_bytes()))
    assert load([str(stack)], env="dev", environ=place) == cold
    assert load([str(stack)], env="dev", environ=place) == cold


def test_a_warm_validate_needs_no_yaml_parser_and_prints_the_same(tmp_path: Path) -> None:
    """The CLI's second ``validate`` of an unchanged stack takes every file from the cache: PyYAML (and the
    YAML loader module) are not imported, and the output is the cold run's."""
    shutil.copytree(EXAMPLE, tmp_path / "stack")
    probe = """
import sys
sys.argv = ["provisioner", "validate", *sys.argv[1:]]
from provisioner.__main__ import run
code = run()
print("loaded:", [m for m in ("yaml", "provisioner.manifest.yamlload") if m in sys.modules], code)
"""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("CI", cache.ENV_VAR)},
        **SECRETS,
        "PYTHONPATH": str(ROOT),
        "XDG_CACHE_HOME": str(tmp_path / "user-cache"),
    }

    def validate(*extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, str(tmp_path / "stack"), *extra],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    cold = validate("--env", "dev")
    assert cold.endswith("loaded: ['yaml', 'provisioner.manifest.yamlload'] 0\n")
    warm = validate("--env", "dev")
    assert warm == cold.replace("loaded: ['yaml', 'provisioner.manifest.yamlload'] 0", "loaded: [] 0")
    assert validate("--env", "dev", "--no-cache") == cold


def test_an_environment_file_with_a_literal_password_is_not_stored(place: Environ, tmp_path: Path) -> None:
    """The schema refuses a literal test-user password; such a file's parse is not kept (selected or not)."""
    stack = tmp_path / "stack"
    dev = stack / "environments" / "dev.yaml"
    original = dev.read_text(encoding="utf-8")
    dev.write_text(original + "verify:\n  testUsers:\n    - {userName: u, password: literal-env-password-Kq71}\n")
    for env in ("dev", "staging"):
        result = load([str(stack)], env=env, environ=place)
        assert not result.ok if env == "dev" else result.ok, result.diagnostics
        stored = b"".join(p.read_bytes() for p in (Path.cwd() / ".provisioner").rglob("*") if p.is_file())
        assert b"literal-env-password-Kq71" not in stored
    assert len(_documents()) == 3  # provisioner.yaml, prod and staging
    dev.write_text(original, encoding="utf-8")  # the suite's leak scan reads every file a test leaves


@pytest.mark.parametrize(
    "spec",
    [{"x": float("nan")}, {1: "an integer key"}, {"x": (1, 2)}, {"$secretRef": ["env", "A", ""]}],
    ids=["nan", "int-key", "tuple", "spells-a-reference"],
)
def test_a_spec_that_does_not_read_back_equal_is_not_stored(tmp_path: Path, spec: dict) -> None:
    from provisioner.manifest.model import Resource, SourceLocation

    store = cache.ManifestCache(str(tmp_path), b"k" * 32)
    file = str(tmp_path / "a.yaml")
    at = SourceLocation(file, 1, 1)
    good = Resource(kind="AIAgent", name="a", realm="alpha", spec={"scopes": ["x"]}, location=at, field_locations={})
    store.put(file, "key", 1, [good])
    assert store.get(file, "key") == (1, [good])
    other = str(tmp_path / "b.yaml")
    there = SourceLocation(other, 1, 1)
    bad = Resource(kind="AIAgent", name="b", realm="alpha", spec=spec, location=there, field_locations={})
    store.put(other, "key", 1, [Resource(**{**good.__dict__, "location": there}), bad])
    assert store.get(other, "key") is None
