"""The access map built from manifests (pure): what is known offline and what only the tenant knows."""

from __future__ import annotations

from provisioner.kinds.access import from_resources
from provisioner.manifest.model import Resource, SourceLocation
from provisioner.render.access import render_mermaid, render_text

WHERE = SourceLocation("stack.yaml")


def _res(kind: str, name: str, spec: dict) -> Resource:
    return Resource(kind=kind, name=name, realm="alpha", spec=spec, location=WHERE, field_locations={})


def test_an_existing_application_without_permissions_has_unknown_scopes_offline() -> None:
    agent = _res(
        "AIAgent",
        "x",
        {
            "scopes": ["s"],
            "grantTypes": ["client_credentials"],
            "applications": [{"application": "legacy", "existing": True}],
        },
    )
    [access] = from_resources([agent]).agents
    [edge] = access.exchanges
    assert (edge.scopes, edge.all_scopes) == (None, True)
    data = from_resources([agent]).to_dict()
    assert data["agents"][0]["tokenExchange"] is False  # token_exchange is not among the agent's grants
    text = render_text(data)
    assert "scopes:   every scope of the application (its scopes are not known here)" in text
    assert "note:     unusable: the agent lacks the token_exchange grant" in text
    assert "-.->" in render_mermaid(data)  # an unusable exchange is drawn dotted


def test_unmanaged_grant_types_and_scopes_are_unknown_not_empty() -> None:
    agent = _res("AIAgent", "x", {"applications": []})
    [access] = from_resources([agent]).agents
    assert access.grant_types is None and access.scopes is None
    assert access.has_own_token and access.can_exchange  # unknown: shown, not hidden
    assert "own token (client_credentials): scopes unknown (not declared in the manifests)" in render_text(
        from_resources([agent]).to_dict()
    )


def test_labels_cannot_break_the_mermaid_graph() -> None:
    app = _res("Application", "a", {"scopes": ['x"y', "<b>"]})
    agent = _res("AIAgent", "x", {"grantTypes": ["token_exchange"], "applications": [{"application": "a"}]})
    graph = render_mermaid(from_resources([app, agent]).to_dict())
    assert 'x"y' not in graph and "<b>" not in graph
    assert "x#quot;y" in graph and "#lt;b#gt;" in graph
