"""The SQLite log's own duties: checkpoints after the commit, not inside it."""

from __future__ import annotations

from pathlib import Path

from app.bus.events import StoredEvent
from app.bus.local import LocalEventBus
from app.bus.sqlite_log import SqliteEventLog
from app.events import ContractValidator

KIB = 1024


def event(id: int, size: int) -> StoredEvent:
    return StoredEvent(id, "hft", "hft.error", 0, b"x" * size)


def test_append_says_when_a_checkpoint_is_due_and_never_checkpoints_itself(tmp_path: Path) -> None:
    log = SqliteEventLog(tmp_path / "events.sqlite3", synchronous="normal", checkpoint_pages=64)
    log.open()
    wal = tmp_path / "events.sqlite3-wal"
    dues = [log.append([event(i, KIB)]) for i in range(1, 201)]
    assert dues.index(True) == 15, "due once about 64 pages are in the WAL: 4 per commit of one small event"
    grown = wal.stat().st_size
    assert grown > 200 * KIB, "no automatic checkpoint: the WAL holds every commit"
    log.checkpoint()
    assert not log.append([event(201, KIB)]), "the count starts again after a checkpoint"
    assert wal.stat().st_size == grown, "after the checkpoint the WAL is written again from its start"
    assert [e.id for e in log.read_after("hft", 0, 1000)] == list(range(1, 202))
    log.close()


async def test_the_bus_checkpoints_so_the_wal_stays_near_the_threshold(tmp_path: Path) -> None:
    log = SqliteEventLog(tmp_path / "events.sqlite3", synchronous="normal", checkpoint_pages=64)
    bus = LocalEventBus(log, ContractValidator())
    await bus.start()
    try:
        for i in range(1000):  # one commit each: ~16 MB of WAL without checkpoints
            await bus.publish("hft", "hft.error", {"error": f"{i:04d}" + "x" * KIB})
        wal_size = (tmp_path / "events.sqlite3-wal").stat().st_size  # its high-water mark
        history = await bus.history("hft", after=0, limit=2000)
    finally:
        await bus.close()
    assert [e.id for e in history] == list(range(1, 1001))
    assert wal_size < 512 * KIB, f"the WAL grew to {wal_size} bytes: the bus did not checkpoint"


def test_a_retention_pass_that_deletes_checkpoints(tmp_path: Path) -> None:
    log = SqliteEventLog(tmp_path / "events.sqlite3", synchronous="normal", checkpoint_pages=10_000)
    log.open()
    wal = tmp_path / "events.sqlite3-wal"
    for i in range(1, 101):
        log.append([event(i, KIB)])
    assert log.prune(channels=["hft"], max_events=10, min_ts=-1) == 90
    after_prune = wal.stat().st_size
    for i in range(101, 106):
        log.append([event(i, KIB)])
    assert wal.stat().st_size == after_prune, "checkpointed: later commits reuse the WAL from its start"
    assert [e.id for e in log.read_after("hft", 0, 1000)] == list(range(91, 106))
    log.close()
