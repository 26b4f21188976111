"""The apply journal: ordered, redacted, private."""

from __future__ import annotations

import stat
from pathlib import Path

from provisioner import journal, redact


def test_journal_records_in_order_without_secrets(tmp_path: Path) -> None:
    redact.register("journal-secret-value-123")
    ticks = iter(range(100, 200))
    with journal.Journal(tmp_path / "j", clock=lambda: float(next(ticks)), run_id="r1") as j:
        j.record("start", stack="s", changes=2)
        j.record(
            "step",
            address="AIAgent.alpha.a",
            status="failed",
            cause="PUT failed: bad secret journal-secret-value-123",
            body={"userpassword": "plain", "scopes": ["x"]},
        )
        j.record("end", done=1, failed=1, not_attempted=0)
    path = journal.latest(tmp_path / "j")
    assert path is not None and path.name == "apply-r1.jsonl"
    records = journal.read(path)
    assert [r["event"] for r in records] == ["start", "step", "end"]
    assert records[1]["cause"] == "PUT failed: bad secret (sensitive)"
    assert records[1]["body"] == {"userpassword": "(sensitive)", "scopes": ["x"]}
    text = path.read_text()
    assert "journal-secret-value-123" not in text and "plain" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_each_record_is_readable_at_once_and_sync_puts_it_on_disk(tmp_path: Path, monkeypatch) -> None:
    """A killed run loses no record (each line is flushed as written); fsync comes in groups, and
    ``sync`` (the executor's call before the first write) and ``close`` always reach the disk."""
    synced: list[int] = []
    real_fsync = journal.os.fsync
    monkeypatch.setattr(journal.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    with journal.Journal(tmp_path / "j", run_id="r2") as j:
        for n in range(50):
            j.record("attempt", address=f"a{n}")
            assert len(journal.read(j.path)) == n + 1  # on the OS's side already
        assert len(synced) < 10  # grouped: not one fsync per record
        j.sync()
        after_sync = len(synced)
        assert after_sync >= 1
        j.record("before", sync=True, address="x")
        assert len(synced) == after_sync + 1
    assert len(synced) == after_sync + 2  # close
