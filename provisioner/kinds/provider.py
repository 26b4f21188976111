"""OAuth2Provider: the realm's ``oauth-oidc`` service, a singleton keyed by realm (reference §3).

Field table:

=============================  ==============================================================
grantTypes.ensure              ``advancedOAuth2Config.grantTypes``: the listed members must be
                               present; missing ones are appended, server order kept
grantTypes.exact               ``advancedOAuth2Config.grantTypes`` as a set (list replaced)
acceptAudienceInTokenExchange  ``advancedOAuth2Config.acceptAudienceParametersInTokenExchangeRequests``
=============================  ==============================================================

``aiAgentsConfig`` is never touched (the feature-enable call owns it).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from provisioner.client.wrapping import unwrap
from provisioner.grants import AM_VALUES, alias
from provisioner.kinds.common import get_path, indexed_strings, set_path, string_set
from provisioner.kinds.fields import Field, Target
from provisioner.kinds.spec import ImageHooks, KindSpec, SnapshotRead

KIND = "OAuth2Provider"
RANK = 0
GRANT_PATH = ("advancedOAuth2Config", "grantTypes")
AUDIENCE_PATH = ("advancedOAuth2Config", "acceptAudienceParametersInTokenExchangeRequests")
SERVICE_ID = "oauth-oidc"

FIELDS: tuple[Field, ...] = (
    Field("grantTypes", (Target("am", GRANT_PATH, "set"),)),
    Field("acceptAudienceInTokenExchange", (Target("am", AUDIENCE_PATH),)),
)


def desired_values(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``{"grantTypes": {"ensure"|"exact": [...]}, "acceptAudienceInTokenExchange": bool}`` as declared."""
    out: dict[str, Any] = {}
    grants = spec.get("grantTypes")
    if isinstance(grants, Mapping):
        for mode in ("exact", "ensure"):
            if mode in grants:
                out["grantTypes"] = {mode: list(grants[mode] or [])}
                break
    if "acceptAudienceInTokenExchange" in spec:
        out["acceptAudienceInTokenExchange"] = spec["acceptAudienceInTokenExchange"]
    return out


def current_grants(doc: Mapping[str, Any] | None) -> list[str]:
    value = get_path(doc, GRANT_PATH)
    return [str(v) for v in value if v] if isinstance(value, list) else []


def wanted_grants(current: list[str], desired: Mapping[str, Any]) -> list[str]:
    """The grant list to write: ``ensure`` appends what is missing; ``exact`` keeps the server's order of
    the members that stay and appends the new ones."""
    grants = desired.get("grantTypes") or {}
    if "exact" in grants:
        wanted = list(dict.fromkeys(grants["exact"]))
        kept = [g for g in current if g in wanted]
        return kept + [g for g in wanted if g not in kept]
    ensure = list(dict.fromkeys(grants.get("ensure") or []))
    return current + [g for g in ensure if g not in current]


def field_diffs(doc: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(field, before, after)`` for each managed provider field that differs."""
    out: list[tuple[str, Any, Any]] = []
    if "grantTypes" in desired:
        current = current_grants(doc)
        wanted = wanted_grants(current, desired)
        if string_set(current) != string_set(wanted):
            out.append(("grantTypes", current, wanted))
    if "acceptAudienceInTokenExchange" in desired:
        before = get_path(doc, AUDIENCE_PATH)
        if before != desired["acceptAudienceInTokenExchange"]:
            out.append(("acceptAudienceInTokenExchange", before, desired["acceptAudienceInTokenExchange"]))
    return out


def allowed_grants(doc: Mapping[str, Any] | None, desired: Mapping[str, Any] | None) -> list[str]:
    """The realm grant types once the declared provider (if any) is applied."""
    current = current_grants(doc)
    return wanted_grants(current, desired) if desired and "grantTypes" in desired else current


def update_document(current: Mapping[str, Any], desired: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Read-modify-write: the whole document without ``_rev``, managed fields changed."""
    doc = copy.deepcopy(dict(current))
    doc.pop("_rev", None)
    changed = False
    for name, _, after in field_diffs(current, desired):
        set_path(doc, GRANT_PATH if name == "grantTypes" else AUDIENCE_PATH, after)
        changed = True
    return doc, changed


def apply_update(ctx: Any, change: Any) -> None:
    """Read-modify-write the realm's provider after checking its revision."""
    from provisioner.kinds.write import check_rev

    am = ctx.client.am(change.realm)
    doc, rev = am.get_provider()
    check_rev(change, "am", rev)
    body, changed = update_document(unwrap(doc), change.desired)
    if changed:
        am.put_provider(body)


def plan(ctx: Any, res: Any) -> list[Any]:
    """The provider's update (or no-op); an error when it could not be read."""
    from provisioner.kinds.planning import make_change
    from provisioner.plan.model import FieldChange

    snap = ctx.snapshot.realm(res.realm)
    desired = desired_values(res.spec)
    if snap.provider is None:
        ctx.problem(res, "", f"the OAuth2 provider of realm {res.realm!r} could not be read")
        return []
    fields = [FieldChange(name, before, after) for name, before, after in field_diffs(snap.provider, desired)]
    return [
        make_change(
            SPEC.address(res.realm, res.realm),
            KIND,
            res.realm,
            res.realm,
            "update" if fields else "no-op",
            fields,
            observed(snap, res.realm),
            desired,
        )
    ]


def observed(snap: Any, key: str, ids: Any = None) -> dict[str, Any]:
    """The revision a plan records for the realm's provider."""
    return {"am": {"id": SERVICE_ID, "rev": snap.provider_rev}}


def grant_rules(resources: Sequence[Any], complete: bool) -> Iterator[tuple[Any, str, str, str]]:
    """A provider's grant types are not repeated (alias and URN); clients only use the grant types an
    ``exact`` provider list allows in their realm."""
    from provisioner.kinds import REGISTRY

    clients = {spec.name for spec in REGISTRY if spec.manifest and spec.am_kind}
    exact: dict[str, tuple[Any, list[str]]] = {}
    for res in resources:
        modes = res.spec.get("grantTypes") if res.kind == KIND else None
        if isinstance(modes, dict) and isinstance(modes.get("exact"), list):
            exact.setdefault(res.realm, (res, [v for _, v in indexed_strings(modes["exact"])]))
    for res in resources:
        if res.kind == KIND and isinstance(res.spec.get("grantTypes"), dict):
            for mode, values in sorted(res.spec["grantTypes"].items()):
                seen: set[str] = set()
                for index, value in enumerate(values if isinstance(values, list) else []):
                    if isinstance(value, str) and value in AM_VALUES:
                        if value in seen:
                            yield (
                                res,
                                f"spec.grantTypes.{mode}[{index}]",
                                (f"grant type '{alias(value)}' is listed twice (as an alias and as its URN)"),
                                "error",
                            )
                        seen.add(value)
        elif res.kind in clients and res.realm in exact:
            provider, allowed = exact[res.realm]
            for index, value in indexed_strings(res.spec.get("grantTypes")):
                if value in AM_VALUES and value not in allowed:
                    yield (
                        res,
                        f"spec.grantTypes[{index}]",
                        (
                            f"grant type '{alias(value)}' is not allowed in realm '{res.realm}': the "
                            f"OAuth2Provider at {provider.location} sets grantTypes.exact without it"
                        ),
                        "error",
                    )


def assemble(results: Mapping[str, Any]) -> dict[str, Any]:
    """The realm snapshot's provider (unwrapped) and its revision, from the ``provider`` read."""
    provider, provider_rev = results.get("provider") or (None, None)
    return {"provider": unwrap(provider) if provider is not None else None, "provider_rev": provider_rev}


def capture_image(
    snap: Any, change: Any, names: Mapping[str, str], notes: list[str], record: dict[str, Any]
) -> dict[str, Any] | None:
    """Undo's image of the provider: the fields the change writes, as the realm holds them."""
    desired = change.desired or {}
    image: dict[str, Any] = {}
    if "grantTypes" in desired:
        image["grantTypes"] = {"exact": current_grants(snap.provider)}
    if "acceptAudienceInTokenExchange" in desired:
        image["acceptAudienceInTokenExchange"] = get_path(snap.provider, AUDIENCE_PATH)
    return image


def export(context: Any, key: str, address: str) -> tuple[list[Any], dict[str, Any] | None, str | None]:
    """The realm's provider as a manifest spec: only what differs from the AIC defaults (no file if nothing)."""
    from provisioner.kinds.reverse import Note, provider_spec

    if context.snap.provider is None:
        return [Note(address, "the OAuth2 provider could not be read; not exported")], None, None
    rev = provider_spec(context.snap, context.provider_grant_types, address)
    if rev.spec:
        return list(rev.notes), rev.spec, None
    return [*rev.notes, Note(address, "nothing differs from the AIC defaults; no file written")], None, None


SPEC = KindSpec(
    name=KIND,
    rank=RANK,
    fields=FIELDS,
    images=ImageHooks(capture=capture_image),
    keyed_by_realm=True,
    observed=observed,
    steps={"update": ((1, apply_update),)},
    plan=plan,
    export_folder="providers",
    export=export,
    schema="oauth2provider.schema.json",
    rules=(grant_rules,),
    reads=(SnapshotRead("provider", lambda client, realm: client.am(realm).get_provider()),),
    assemble=assemble,
)
