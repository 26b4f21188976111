"""Reads share the store (no write lock) and reuse their rendered answer until something is written."""

from __future__ import annotations

import threading

import pytest

from provisioner.emulator.store import NeedsWrite, Store
from tests.emulator.conftest import Emu


def test_readers_run_side_by_side_and_a_writer_waits_for_them() -> None:
    store = Store()
    inside, release, second_reader_in, writer_done = (threading.Event() for _ in range(4))

    def reader() -> None:
        with store.read_transaction():
            inside.set()
            release.wait(5)

    def second_reader() -> None:
        with store.read_transaction():
            assert store.get("ns", "x") is None
            second_reader_in.set()

    def writer() -> None:
        with store.transaction():
            store.put("ns", "x", {"v": 1})
        writer_done.set()

    first = threading.Thread(target=reader)
    first.start()
    assert inside.wait(5)
    threading.Thread(target=second_reader).start()
    assert second_reader_in.wait(5)  # not blocked by the first reader
    threading.Thread(target=writer).start()
    assert not writer_done.wait(0.2)  # the writer waits for the reader
    release.set()
    assert writer_done.wait(5)
    first.join()
    assert store.get("ns", "x") == {"v": 1}


def test_a_write_inside_a_read_is_refused_before_it_happens() -> None:
    store = Store()
    before = store.generation
    with store.read_transaction(), pytest.raises(NeedsWrite):
        store.put("ns", "x", {"v": 1})
    assert store.get("ns", "x") is None and store.generation == before
    store.put("ns", "x", {"v": 2})
    assert store.generation > before


def test_a_cached_list_is_fresh_after_every_write(emu: Emu) -> None:
    def listing() -> list[str]:
        r = emu.request("GET", emu.agent("OAuth2Client"), params={"_queryFilter": "true"}, headers=emu.v("x"))
        assert r.status_code == 200
        return sorted(item["_id"] for item in r.json()["result"])

    assert emu.put_agent("OAuth2Client", "app-one", {}).status_code == 201
    assert listing() == listing() == ["app-one"]
    assert emu.put_agent("OAuth2Client", "app-two", {}).status_code == 201
    assert listing() == ["app-one", "app-two"]
    emu.control("POST", "reset")
    assert listing() == []


def test_reads_that_write_still_work(emu: Emu) -> None:
    # The realm's provider is created on first read (a write inside a GET): it runs as a write instead.
    emu.control("POST", "reset")
    r = emu.request("GET", emu.am("realm-config/services/oauth-oidc"), headers=emu.v("x"))
    assert r.status_code == 200 and "advancedOAuth2Config" in r.json()
    assert emu.request("GET", emu.am("realm-config/services/oauth-oidc"), headers=emu.v("x")).json() == r.json()


def test_many_writers_and_readers_all_finish_and_every_write_counts() -> None:
    """Releasing the lock wakes one writer (or every waiting reader), not everyone: no waiter is
    forgotten, whichever mix of readers and writers contends."""
    store = Store()
    done: list[str] = []
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(40):
                with store.transaction():
                    store.put("counter", f"{n}-{i}", {"n": n, "i": i})
            done.append("w")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(40):
                with store.read_transaction():
                    store.items("counter")
            done.append("r")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    threads += [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors and not any(t.is_alive() for t in threads)
    assert sorted(done) == ["r"] * 4 + ["w"] * 8
    with store.read_transaction():
        assert len(store.items("counter")) == 8 * 40


def test_reading_counters_and_faults_keeps_cached_answers_writes_to_the_control_plane_drop_them(emu: Emu) -> None:
    """A benchmark resets the request counters before each step: that must not throw the rendered lists
    away. Seeds, resets and config switches change what reads render: they do."""
    cache = emu.server.app._cache

    def listing() -> list[str]:
        r = emu.request("GET", emu.idm("managed/alpha_user"), params={"_queryFilter": "true"})
        assert r.status_code == 200
        return sorted(u["userName"] for u in r.json()["result"])

    emu.seed(users=[{"userName": "cached-ann", "password": "pw-ann-1"}])
    assert listing() == ["cached-ann"]
    held = len(cache)
    assert held >= 1
    for method, name in (("DELETE", "stats"), ("GET", "stats"), ("GET", "state"), ("GET", "config")):
        emu.control(method, name)
        assert len(cache) == held, (method, name)
    emu.control("PUT", "faults", {"rules": []})
    emu.control("DELETE", "faults")
    assert len(cache) == held and listing() == ["cached-ann"]
    emu.seed(users=[{"userName": "cached-bob", "password": "pw-bob-1"}])
    assert len(cache) == 0 and listing() == ["cached-ann", "cached-bob"]
    assert listing() and len(cache) >= 1
    emu.control("PATCH", "config", {"am.csrf": "ignore"})
    assert len(cache) == 0
    emu.control("PATCH", "config", {"am.csrf": "enforce"})


def test_jcopy_copies_json_values_deeply() -> None:
    from provisioner.emulator.backend.am_forms import jcopy

    original = {"a": [1, {"b": "x", "c": None, "d": True}], "e": 2.5, "t": ({"inner": [1]},)}
    copied = jcopy(original)
    assert copied == original
    copied["a"][1]["b"] = "changed"
    copied["a"].append(3)
    copied["t"][0]["inner"].append(2)  # a tuple is not JSON: deep-copied the slow way, still a copy
    assert original == {"a": [1, {"b": "x", "c": None, "d": True}], "e": 2.5, "t": ({"inner": [1]},)}


def test_list_items_follow_every_stored_change(emu: Emu) -> None:
    """AM list items are rendered once per stored version of a document: a change, a new client and a
    deletion all show in the next list read."""
    kind = "OAuth2Client"

    def listed() -> dict[str, list[str]]:
        body = emu.request("GET", emu.agent(kind) + "?_queryFilter=true", headers=emu.v(kind)).json()
        return {i["_id"]: i["coreOAuth2ClientConfig"]["scopes"] for i in body["result"] if i["_id"].startswith("memo-")}

    for name in ("memo-a", "memo-b"):
        body = {"coreOAuth2ClientConfig": {"scopes": ["one"]}}
        assert emu.put_agent(kind, name, body, headers={"If-None-Match": "*"}).status_code == 201
    assert listed() == {"memo-a": ["one"], "memo-b": ["one"]}
    assert emu.put_agent(kind, "memo-a", {"coreOAuth2ClientConfig": {"scopes": ["two"]}}).ok
    assert emu.request("DELETE", emu.agent(kind, "memo-b"), headers=emu.v(kind)).ok
    assert listed() == {"memo-a": ["two"]}


@pytest.mark.parametrize("path", [None, "file"])
def test_meta_values_are_what_was_committed(tmp_path, path) -> None:
    store = Store(str(tmp_path / "emulator.db") if path else None)
    store.set_meta("counter", 1)
    store.set_meta("blob", {"a": [1]})
    assert store.meta("counter") == 1
    # A rolled-back transaction's meta writes are gone, also for the cache.
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.set_meta("counter", 2)
            assert store.meta("counter") == 2  # the writer sees its own write
            raise RuntimeError("roll back")
    assert store.meta("counter") == 1
    store.set_meta("other", True)  # the next commit carries nothing of the rolled-back one
    assert store.meta("counter") == 1 and store.meta("other") is True
    # Mutable values are fresh copies: changing one does not change the store.
    store.meta("blob")["a"].append(2)
    assert store.meta("blob") == {"a": [1]}
    # Another thread never sees a running transaction's meta write, only what was committed.
    seen: list[object] = []
    inside, done = threading.Event(), threading.Event()

    def reader() -> None:
        inside.wait()
        seen.append(store.meta("counter"))
        done.set()

    thread = threading.Thread(target=reader)
    thread.start()
    with store.transaction():
        store.set_meta("counter", 3)
        inside.set()
        done.wait(5)
    thread.join(5)
    assert seen == [1]  # the committed value, not the running transaction's
    assert store.meta("counter") == 3  # committed now
    # A kept key set in a transaction that clears and then rolls back keeps its committed value.
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.set_meta("blob", {"b": 2})
            store.clear(keep_meta=("blob",))
            assert store.meta("blob") == {"b": 2} and store.meta("counter") is None
            raise RuntimeError("roll back")
    assert store.meta("blob") == {"a": [1]} and store.meta("counter") == 3
    # Cleared meta reads as absent, kept keys keep their value.
    with store.transaction():
        store.clear(keep_meta=("blob",))
    assert store.meta("counter") is None and store.meta("counter", 7) == 7
    assert store.meta("blob") == {"a": [1]}
    if path:  # and a new store on the same file reads what was committed
        store.close()
        again = Store(str(tmp_path / "emulator.db"))
        assert again.meta("blob") == {"a": [1]} and again.meta("counter") is None
        again.close()
