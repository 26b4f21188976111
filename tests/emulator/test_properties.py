"""Property tests over the backend (no HTTP): virtual fields always follow the graph."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.emulator.backend import Backend
from provisioner.emulator.config import Config
from provisioner.emulator.store import Store

_BACKEND = Backend(Store(), Config(), ("alpha",))

memberships = st.lists(st.lists(st.integers(0, 5), max_size=4), min_size=1, max_size=3)
subjects = st.lists(st.integers(0, 5), max_size=4)


def ref(kind: str, oid: str) -> dict[str, str]:
    return {"_ref": f"managed/alpha_{kind}/{oid}"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups=memberships, direct=subjects, chosen=st.lists(st.integers(0, 2), max_size=3))
def test_subject_ids_are_direct_subjects_then_group_members(groups, direct, chosen) -> None:
    backend = _BACKEND
    backend.reset()
    with backend.store.transaction():
        users = [
            u["_id"]
            for u in backend.seed(
                {"realm": "alpha", "users": [{"userName": f"u{i}", "password": "p"} for i in range(6)]}
            )["users"]
        ]
        for index, members in enumerate(groups):
            backend.idm.put(
                "alpha_group", f"g{index}", {"members": [ref("user", users[m]) for m in members]}, None, None, None
            )
        _, agent = backend.am.put("alpha", "AIAgent", "agent", {}, None, None)
        uid = agent["aiAgentIdentityUid"]["value"]
        picked = [g for g in dict.fromkeys(chosen) if g < len(groups)]
        privilege = backend.idm.create(
            "alpha_aiagentprivilege",
            {
                "agent": ref("aiagent", uid),
                "subjects": [ref("user", users[d]) for d in direct],
                "subjectGroups": [ref("group", f"g{g}") for g in picked],
            },
            "p",
            None,
        )
    expected = [users[d] for d in direct] + [users[m] for g in picked for m in groups[g]]
    assert privilege["subjectIDs"] == list(dict.fromkeys(expected))
    assert privilege["agentOAuth2ClientId"] == "agent" and privilege["agentID"] == uid
    viewed = backend.view.privileges("alpha")
    assert [p["subjectIDs"] for p in viewed] == [privilege["subjectIDs"]]
