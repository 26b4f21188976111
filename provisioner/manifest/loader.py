"""``load()``: from paths on disk to a validated :class:`Stack`, reporting every problem at once.

Steps, each collecting diagnostics instead of stopping: the dotenv file, the environment file,
manifest discovery, per file (read → template → YAML), per document (envelope → schema → Resource),
cross-document rules and lint, then secret resolution. Nothing here touches the network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.manifest import cache as manifest_cache
from provisioner.manifest import policy, rules
from provisioner.manifest.build import build_resource, secret_refs
from provisioner.manifest.cache import ManifestCache
from provisioner.manifest.environment import load_environment
from provisioner.manifest.environment import secret_refs as environment_secret_refs
from provisioner.manifest.limits import DEFAULT_LIMITS, Limits
from provisioner.manifest.model import (
    DEFAULT_REALM,
    Diagnostic,
    Environment,
    LoadResult,
    Resource,
    Secrets,
    Stack,
)
from provisioner.manifest.secrets import SecretResolver, read_dotenv
from provisioner.manifest.sources import discover, read_text
from provisioner.manifest.stackfile import declared_name
from provisioner.manifest.templating import raw_yaml_warnings, render
from provisioner.manifest.yamldoc import YamlDocument


def default_stack_name(paths: Sequence[str]) -> str:
    """The first path's directory name (its parent, for a file).

    Not a stack's identity (that is declared: :mod:`provisioner.manifest.stackfile`); kept for labels.
    """
    if not paths:
        return "stack"
    first = os.path.abspath(paths[0])
    directory = first if os.path.isdir(first) else os.path.dirname(first)
    return os.path.basename(directory) or "stack"


def _variables(environment: Environment | None) -> dict[str, Any]:
    if environment is None:
        return {}
    # Built-ins last: they cannot be shadowed (the environment file reports the clash).
    return {**environment.vars, "env": environment.name, "realm": environment.realm}


def _hint(environment: Environment | None, requested: str | None) -> str:
    if environment is None:
        if requested:
            return f"environment '{requested}' could not be loaded"
        return "no --env given: variables come from environments/NAME.yaml"
    names = ", ".join(sorted(_variables(environment)))
    return f"defined in environment '{environment.name}': {names}"


class _Loader:
    """One load: the state shared by the steps (limits, counters, diagnostics)."""

    def __init__(self, limits: Limits, env: str | None) -> None:
        self.limits = limits
        self.env = env
        self.diagnostics: list[Diagnostic] = []
        self.documents = 0
        # Set when a file or document could not be turned into resources: references to what it
        # declared would then be reported as dangling, which is noise, not news.
        self.incomplete = False

    def load_file(
        self, file: str, environment: Environment | None, default_realm: str, cache: ManifestCache | None
    ) -> list[Resource]:
        """The resources of one manifest file: from the cache when the file loaded cleanly before
        (:mod:`provisioner.manifest.cache`), else read, parsed and built (and cached when clean)."""
        text, problems = read_text(file, self.limits, what="manifest file")
        self.diagnostics += problems
        if text is None:
            self.incomplete = True
            return []
        rendered, problems = render(text, file, _variables(environment), self.limits, hint=_hint(environment, self.env))
        self.diagnostics += problems
        if rendered is None:
            self.incomplete = True
            return []
        key = None
        if cache is not None and not problems:
            key = cache.key(file, text, rendered, default_realm, self.limits)
            hit = cache.get(file, key)
            if hit is not None and self.documents + hit[0] <= self.limits.max_documents:
                self.documents += hit[0]
                return hit[1]
        reported, counted = len(self.diagnostics), self.documents
        resources: list[Resource] = []
        built_all = True
        for doc in self.parse_manifest(file, text, rendered):
            resource, problems = build_resource(doc, default_realm)
            self.diagnostics += problems
            if resource is not None:
                resources.append(resource)
            else:
                self.incomplete = True
                built_all = False
        if cache is not None and key is not None and built_all and len(self.diagnostics) == reported:
            cache.put(file, key, self.documents - counted, resources)
        return resources

    def parse_manifest(self, file: str, text: str, rendered: str) -> list[YamlDocument]:
        if rendered is not text:  # templated: editors check the raw file, so it should be YAML too
            self.diagnostics += raw_yaml_warnings(text, file)
        from provisioner.manifest.yamlload import parse_documents  # PyYAML: only for a file not in the cache

        remaining = self.limits.max_documents - self.documents
        docs, problems = parse_documents(rendered, file, self.limits, max_documents=max(remaining, 0))
        self.diagnostics += problems
        self.incomplete = self.incomplete or any(not p.path for p in problems)  # syntax error, limit
        self.documents += len(docs)
        # Empty documents (a stray '---', a comment-only file) declare nothing.
        return [doc for doc in docs if doc.data is not None]

    def resolve_secrets(
        self,
        resources: list[Resource],
        environment: Environment | None,
        env_doc: YamlDocument | None,
        resolver: SecretResolver,
    ) -> None:
        for res in resources:
            for ref, path in secret_refs(res):
                resolver.resolve(ref, res.locate(path), path)
        if environment is not None and env_doc is not None:
            for ref, where, path in environment_secret_refs(environment, env_doc):
                resolver.resolve(ref, where, path)
        self.diagnostics += resolver.diagnostics


def secret_roots(paths: Sequence[str], secrets_dirs: Sequence[str] = ()) -> tuple[str, ...]:
    """The directories ``fromFile`` may read from: each given manifest directory (a file's own
    directory), plus every ``--secrets-dir``."""
    roots = [p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p)) for p in paths]
    return tuple(dict.fromkeys(os.path.realpath(r) for r in [*roots, *secrets_dirs]))


#: Variables naming the service-account key file: ``fromFile`` must never send it to the tenant.
KEY_FILE_VARIABLES = ("AIC_SERVICE_ACCOUNT_JWK_FILE",)


def load(
    paths: Sequence[str],
    env: str | None = None,
    env_file: str | None = None,
    environ: Mapping[str, str] = os.environ,
    strict: bool = False,
    stack_name: str | None = None,
    *,
    resolve_secrets: bool = True,
    limits: Limits = DEFAULT_LIMITS,
    secrets_dirs: Sequence[str] = (),
) -> LoadResult:
    """Load, template, validate and resolve the manifests under ``paths``.

    ``env`` selects ``environments/<env>.yaml`` next to the manifests; ``env_file`` is a dotenv file
    consulted for ``fromEnv`` secrets after ``environ``. ``strict`` turns lint warnings into errors.
    ``resolve_secrets=False`` (``--skip-secrets``) checks references without reading them.
    ``fromFile`` reads only regular files inside the manifest directories or ``secrets_dirs``
    (:func:`secret_roots`), never the service-account key file.
    Never raises for bad input: every problem is a diagnostic.
    """
    loader = _Loader(limits, env)
    paths = list(paths)
    dotenv: dict[str, str] = {}
    if env_file:
        dotenv, problems = read_dotenv(env_file, limits)
        loader.diagnostics += problems

    files, problems = discover(paths, limits)
    loader.diagnostics += problems
    # The cache also holds the parsed stack file and environment files (diagnostics are sorted at the end,
    # so the order they are found in does not matter).
    cache = manifest_cache.open_cache(environ) if files else None

    environment: Environment | None = None
    env_doc: YamlDocument | None = None
    if env:
        environment, env_doc, problems = load_environment(paths, env, limits, cache)
        loader.diagnostics += problems
    default_realm = environment.realm if environment else DEFAULT_REALM

    resources: list[Resource] = []
    child = _prefill(files, limits, env, environment, default_realm, cache)
    try:
        for index, file in enumerate(files):
            if child is not None and index == child.first:
                child.wait()  # its files are in the cache now (those that loaded cleanly)
            resources += loader.load_file(file, environment, default_realm, cache)
    finally:
        if child is not None:
            child.stop()
    loader.diagnostics += rules.check(resources, complete=not loader.incomplete)
    loader.diagnostics += _policies(paths, environment, env_doc, resources, limits, loader.diagnostics, cache)

    key_files = tuple(v for v in (environ.get(n) or dotenv.get(n) for n in KEY_FILE_VARIABLES) if v)
    resolver = SecretResolver(
        environ=environ,
        dotenv=dotenv,
        env_file=env_file,
        limits=limits,
        roots=secret_roots(paths, secrets_dirs),
        refused=key_files,
    )
    if resolve_secrets:
        loader.resolve_secrets(resources, environment, env_doc, resolver)

    name, problems = declared_name(paths, stack_name, environment, limits, cache)
    loader.diagnostics += problems
    diagnostics = _finish(loader.diagnostics, strict)
    stack = None
    if files or resources:
        stack = Stack(name=name, resources=tuple(resources), environment=environment, sources=tuple(files))
    return LoadResult(diagnostics=diagnostics, stack=stack, secrets=Secrets(resolver.values, resolved=resolve_secrets))


def _prefill(
    files: Sequence[str],
    limits: Limits,
    env: str | None,
    environment: Environment | None,
    default_realm: str,
    cache: ManifestCache | None,
) -> Any:
    """A cold load of many files uses both cores (:mod:`provisioner.manifest.prefill` decides when)."""
    from provisioner.manifest import prefill

    return prefill.start(
        files, lambda file: _Loader(limits, env).load_file(file, environment, default_realm, cache), cache
    )


def _policies(
    paths: Sequence[str],
    environment: Environment | None,
    env_doc: YamlDocument | None,
    resources: list[Resource],
    limits: Limits,
    found: list[Diagnostic],
    cache: ManifestCache | None = None,
) -> list[Diagnostic]:
    """The environment policies: the selected environment's as errors, the others' as warnings.

    A rule the schema already refused (``found`` holds a diagnostic at ``policy.<rule>``) is not applied.
    """
    policies = policy.other_policies(
        paths, environment.location.file if environment and environment.location else None, limits, cache
    )
    out: list[Diagnostic] = []
    if environment is not None and env_doc is not None:
        own = policy.policy_of(environment.name, env_doc)
        refused = {d.path.split(".")[1].split("[")[0] for d in found if d.path.startswith("policy.")}
        if own is not None and refused:
            own = policy.Policy(
                own.environment, {k: v for k, v in own.rules.items() if k not in refused}, own.locations
            )
        if own is not None:
            out += policy.check_policy_values(own)
            policies.insert(0, own)
    return out + policy.check(resources, policies, environment.name if environment else None)


def _finish(diagnostics: list[Diagnostic], strict: bool) -> tuple[Diagnostic, ...]:
    """Apply --strict, drop exact duplicates and sort by location (deterministic output)."""
    out = {}
    for diag in diagnostics:
        if strict and diag.severity == "warning":
            diag = Diagnostic(diag.location, diag.path, diag.message, "error")
        out[(diag.sort_key, diag.severity)] = diag
    return tuple(out[key] for key in sorted(out))
