"""What every kind's planner shares (pure): the plan context, field-level differences, secrets.

The planner (:func:`provisioner.plan.make_plan`) calls each kind's ``KindSpec.plan`` in rank order with
one :class:`PlanContext`; a kind reads the changes already planned for the kinds before it (an agent's
privileges need the application records planned first) through :meth:`PlanContext.planned`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from provisioner.kinds.fields import Field, differing_targets, display
from provisioner.kinds.oauth2client import client_rev, idm_rev, stack_of
from provisioner.kinds.snapshot import Snapshot
from provisioner.plan.model import Change, FieldChange, Ids, PlanDiagnostic, SecretReference, _plain


class PlanContext:
    """One planning run: the snapshot, the declared resources, the secret verdicts, the changes planned
    so far, the diagnostics, and user-id → userName lookups for display."""

    def __init__(
        self,
        snapshot: Snapshot,
        resources: Sequence[Any],
        secret_status: Mapping[str, bool],
        *,
        stack: str = "",
        take_over: bool = False,
        check_ownership: bool = False,
    ) -> None:
        self.snapshot = snapshot
        #: This stack's identity, and what to do with objects another stack owns (see :func:`ownership`).
        self.stack = stack
        self.take_over = take_over
        self.check_ownership = check_ownership
        self.resources = list(resources)
        self.secret_status = secret_status
        self.diagnostics: list[PlanDiagnostic] = []
        self.changes: list[Change] = []
        self.memo: dict[Any, Any] = {}
        self._by_kind: dict[tuple[str, str], dict[str, Change]] = {}
        self._user_names: dict[str, dict[str, str]] = {}

    def add(self, change: Change) -> None:
        self.changes.append(change)
        self._by_kind.setdefault((change.kind, change.realm), {})[change.key] = change

    def planned(self, kind: str, realm: str) -> Mapping[str, Change]:
        """Key → change already planned for ``kind`` in ``realm``."""
        return self._by_kind.get((kind, realm), {})

    def declared(self, kind: str, realm: str) -> list[Any]:
        """The declared resources of ``kind`` in ``realm``."""
        return [r for r in self.resources if r.kind == kind and r.realm == realm]

    def problem(self, resource: Any, path: str, message: str, severity: str = "error") -> None:
        location = str(resource.locate(path)) if hasattr(resource, "locate") else ""
        self.diagnostics.append(
            PlanDiagnostic(
                severity=severity,  # type: ignore[arg-type]
                message=message,
                location=location,
                path=path,
            )
        )

    def problems(self, resource: Any, problems: Iterable[tuple[str, str]]) -> None:
        for path, message in problems:
            self.problem(resource, path, message)

    def names(self, realm: str, ids: Any) -> Any:
        if not isinstance(ids, list):
            return ids
        if realm not in self._user_names:
            self._user_names[realm] = {v: k for k, v in self.snapshot.realm(realm).users.items()}
        reverse = self._user_names[realm]
        return sorted(reverse.get(i, i) for i in ids)


def field_changes(
    ctx: PlanContext,
    realm: str,
    fields: Sequence[Field],
    desired: Mapping[str, Any],
    docs: Mapping[str, Any],
    *,
    create: bool,
) -> list[FieldChange]:
    """The managed fields whose remote value differs from ``desired`` (users shown by userName)."""
    out: list[FieldChange] = []
    for fld in fields:
        if fld.sensitive or fld.name not in desired:
            continue
        diffs = differing_targets(fld, desired[fld.name], docs)
        if not diffs:
            continue
        target, before, after = diffs[0]
        before_shown, after_shown = display(target, before), display(target, after)
        if target.compare == "refs" and target.collection.endswith("_user"):
            before_shown, after_shown = ctx.names(realm, before_shown), ctx.names(realm, after_shown)
        out.append(FieldChange(fld.name, None if create else before_shown, after_shown))
    return out


def secret_change(ctx: PlanContext, secret: SecretReference | None, addr: str, create: bool) -> list[FieldChange]:
    if secret is None:
        return []
    if create:
        return [FieldChange("clientSecret", None, None, sensitive=True)]
    if ctx.secret_status.get(addr, False):
        return []
    return [FieldChange("clientSecret", "(sensitive)", "(sensitive, changed)", sensitive=True)]


def make_change(
    address: str,
    kind: str,
    realm: str,
    key: str,
    action: str,
    fields: list[FieldChange],
    observed: dict[str, Any],
    desired: dict[str, Any],
    reason: str = "",
    depends_on: Iterable[str] = (),
    ids: Ids | None = None,
    secret: SecretReference | None = None,
    send_secret: bool = False,
) -> Change:
    return Change(
        address=address,
        kind=kind,
        realm=realm,
        key=key,
        action=action,  # type: ignore[arg-type]
        fields=tuple(fields),
        depends_on=tuple(sorted(set(depends_on))),
        observed=_plain(observed),
        desired=_plain(desired),
        reason=reason,
        ids=ids if ids is not None else Ids(),
        secret=secret,
        send_secret=send_secret,
    )


def grant_problems(ctx: PlanContext, res: Any, desired: Mapping[str, Any], allowed: Any) -> list[tuple[str, str]]:
    """A grant type the realm's OAuth2 provider does not allow (after this plan) is a plan error: every
    token request with it would fail. ``allowed(ctx, realm)`` gives the provider's grants."""
    if ctx.snapshot.realm(res.realm).provider is None:
        return []  # the provider could not be read: that is reported on its own
    permitted = set(allowed(ctx, res.realm))
    missing = [g for g in desired.get("grantTypes") or [] if g not in permitted]
    if not missing:
        return []
    return [
        (
            "spec.grantTypes",
            f"{res.kind} {res.name!r} uses grant type(s) {', '.join(missing)} that the OAuth2 "
            f"provider of realm {res.realm!r} does not allow; add them to an OAuth2Provider's "
            f"grantTypes.ensure, or drop them",
        )
    ]


#: The pseudo-field a take-over shows (``stack: "teamA" → "teamB"``); apply writes the marker.
STACK_FIELD = "stack"


def ownership(ctx: PlanContext, res: Any, addr: str, am_doc: Mapping[str, Any] | None) -> list[FieldChange]:
    """An object whose ``provisioner.stack`` marker names another stack is an error naming both stacks;
    with ``--take-over`` it is a change moving it to this stack."""
    owner = stack_of(am_doc)
    if owner is None or owner == ctx.stack or not ctx.check_ownership:
        return []
    if not ctx.take_over:
        ctx.problem(
            res,
            "",
            f"{addr} belongs to stack {owner!r} (its provisioner.stack marker), not to this stack "
            f"{ctx.stack!r}; remove it from these manifests, or pass --take-over to move it to stack "
            f"{ctx.stack!r}",
        )
    return [FieldChange(STACK_FIELD, owner, ctx.stack)]


def plan_client(
    ctx: PlanContext, res: Any, spec: Any, docs: Mapping[str, Any], desired: dict[str, Any], ids: Ids
) -> Change:
    """The change of a client-like object (an AM half plus an IDM half, a ``clientSecret``)."""
    addr = spec.address(res.realm, res.name)
    observed = {"am": client_rev(docs["am"]), "idm": idm_rev(docs["idm"])}
    create = docs["am"] is None
    fields = field_changes(ctx, res.realm, spec.fields, desired, docs, create=create)
    fields += ownership(ctx, res, addr, docs["am"])
    ref = res.spec.get("clientSecret")
    secret = SecretReference.of(ref) if ref is not None else None
    secret_fields = secret_change(ctx, secret, addr, create)
    fields += secret_fields
    action = "create" if create else ("update" if fields else "no-op")
    reason = ""
    if not create and docs["idm"] is None:
        action, reason = "update", "the IDM record is missing and will be created"
    return make_change(
        addr,
        spec.name,
        res.realm,
        res.name,
        action,
        fields,
        observed,
        desired,
        reason,
        ids=ids,
        secret=secret,
        send_secret=bool(secret_fields) and not create,
    )
