"""SQLite's write-ahead log is checkpointed after commits, off the writers' path (app.storage.db,
app.storage.wal)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import text

from app.storage.db import Database


async def write(db: Database, sessions: int, rows: int = 16) -> list[int]:
    """`sessions` commits of `rows` rows of 1 KB; the log's size after each (its checkpoint done)."""
    sizes = []
    for _ in range(sessions):
        async with db.session() as s:
            await s.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": os.urandom(1000)} for _ in range(rows)])
        await db.checkpointed()
        sizes.append(Path(f"{db.url.split(':///')[1]}-wal").stat().st_size)
    return sizes


async def table(tmp_path: Path, **options: int) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", **options)
    async with db.session() as s:
        await s.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"))
    return db


async def test_the_log_is_checkpointed_once_past_its_size_and_stays_bounded(tmp_path: Path) -> None:
    db = await table(tmp_path, wal_checkpoint_bytes=64 * 1024)
    try:
        sizes = await write(db, 100)  # 1.6 MB in all
        assert max(sizes) < 4 * 64 * 1024, sizes
        async with db.session() as s:
            assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1600
    finally:
        await db.close()


async def test_a_checkpoint_runs_once_the_log_has_grown_again_not_after_every_commit(tmp_path: Path) -> None:
    """The log's file keeps its size after a checkpoint unless cut back when it starts again: a
    check of the size alone would then find it due after every later commit."""
    db = await table(tmp_path, wal_checkpoint_bytes=64 * 1024)
    try:
        await write(db, 100)  # 16 KB a commit: due about every fourth
        assert db.checkpointer is not None and 15 <= db.checkpointer.started <= 34, db.checkpointer.started
    finally:
        await db.close()


async def test_a_commit_never_checkpoints_the_log_itself(tmp_path: Path) -> None:
    """SQLite's automatic checkpoint (at 1,000 pages, ~4 MB) would run inside a commit."""
    db = await table(tmp_path, wal_checkpoint_bytes=1 << 40)
    try:
        sizes = await write(db, 100, rows=60)  # 6 MB
        assert sizes[-1] > 5_000_000
    finally:
        await db.close()


async def test_a_commit_far_past_the_size_waits_for_a_checkpoint(tmp_path: Path) -> None:
    """A reader holding the log keeps it from starting again (as a writer that never pauses
    would): past HARD_LIMIT_FACTOR times the size, each commit returns with its checkpoint done."""
    db = await table(tmp_path, wal_checkpoint_bytes=64 * 1024)
    reader = sqlite3.connect(db.url.split(":///")[1])
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()  # a read transaction on the log as it is
    try:
        await write(db, 40)  # 640 KB: past 4 x 64 KB
        before = db.checkpointer.started if db.checkpointer else 0
        async with db.session() as s:
            await s.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": b"x"})
        assert db.checkpointer is not None and db.checkpointer.started == before + 1
        assert not db.checkpointer.running, "the commit returned with its checkpoint done"
    finally:
        reader.close()
        await db.close()
