"""The access difference between two maps, sentence by sentence (pure)."""

from __future__ import annotations

from provisioner.grants import CLIENT_CREDENTIALS, TOKEN_EXCHANGE
from provisioner.kinds.access import AccessMap, AgentAccess, Exchange
from provisioner.kinds.access_diff import diff

GRANTS = (CLIENT_CREDENTIALS, TOKEN_EXCHANGE)


def _map(*agents: AgentAccess) -> AccessMap:
    return AccessMap("test", agents)


def _agent(*edges: Exchange, scopes: tuple[str, ...] = ("a",), grants: tuple[str, ...] = GRANTS) -> AgentAccess:
    return AgentAccess("alpha", "x", grants, scopes, edges)


def _texts(before: AccessMap, after: AccessMap) -> list[str]:
    return [c.text for c in diff(before, after)]


def test_same_access_has_no_difference() -> None:
    edge = Exchange("app", ("r",), groups=("g",))
    assert diff(_map(_agent(edge)), _map(_agent(edge))) == ()


def test_scope_gained_and_lost_on_an_application() -> None:
    before = _map(_agent(Exchange("app", ("read", "search"))))
    after = _map(_agent(Exchange("app", ("delete", "read"))))
    assert _texts(before, after) == ["agent `x` gains `delete` on `app`", "agent `x` loses `search` on `app`"]


def test_acting_for_users_and_groups() -> None:
    before = _map(_agent(Exchange("app", ("r",), users=("ann",))))
    after = _map(_agent(Exchange("app", ("r",), groups=("g",))))
    assert _texts(before, after) == [
        "agent `x` may now act for group `g` on `app`",
        "agent `x` may no longer act for user `ann` on `app`",
    ]
    assert _texts(after, _map(_agent(Exchange("app", ("r",))))) == [
        "agent `x` may no longer act for group `g` on `app`",
        "agent `x` now exchanges into `app` for itself only (no subjects)",
    ]


def test_new_and_removed_exchanges() -> None:
    before = _map(_agent(Exchange("old", ("r",))))
    after = _map(_agent(Exchange("new", ("w",), all_scopes=True)))
    assert _texts(before, after) == [
        (
            "agent `x` may now exchange into `new` with `w` (every scope of the application), acting for no one "
            "(autonomous: only for itself)"
        ),
        "agent `x` may no longer exchange into `old`",
    ]


def test_own_token_scopes_and_grants() -> None:
    assert _texts(_map(_agent(scopes=("a",))), _map(_agent(scopes=("a", "admin")))) == [
        "agent `x` gains `admin` in its own token"
    ]
    assert _texts(_map(_agent()), _map(_agent(grants=(TOKEN_EXCHANGE,)))) == [
        "agent `x` may no longer obtain a token of its own (client_credentials)"
    ]
    assert _texts(_map(_agent()), _map(_agent(grants=(CLIENT_CREDENTIALS,)))) == [
        "agent `x` may no longer exchange tokens (token_exchange grant removed)"
    ]


def test_new_and_deleted_agents() -> None:
    assert _texts(_map(), _map(_agent(Exchange("app", ("r",), users=("bob",))))) == [
        "new agent `x` may obtain its own token with `a`",
        "agent `x` may now exchange into `app` with `r`, acting for users bob",
        "agent `x` may now act for user `bob` on `app`",
    ]
    assert _texts(_map(_agent()), _map()) == ["agent `x` is deleted: every token it could obtain goes with it"]
