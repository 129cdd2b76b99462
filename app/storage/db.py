"""The database handle: one async engine and a session factory, made from a URL (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.storage.wal import HARD_LIMIT_FACTOR, Checkpointer, no_automatic_checkpoint

T = TypeVar("T")
CONNECT_TIMEOUT = 10.0  # seconds to reach PostgreSQL before a clear error (asyncpg's own default: 60)


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 5000")
    cursor.close()


def make_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine for `url`, set up as every part of signaldesk uses it (SQLite's pragmas;
    PostgreSQL's connect timeout, and a ping when a pooled connection is taken, so a restarted
    PostgreSQL costs a reconnect instead of a failed request)."""
    if make_url(url).get_backend_name() == "postgresql":
        options.setdefault("connect_args", {"timeout": CONNECT_TIMEOUT})
        options.setdefault("pool_pre_ping", True)
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


WAL_CHECKPOINT_BYTES = 4 << 20
"""The write-ahead log's size at which a Database checkpoints it: where SQLite's own automatic
checkpoint would (1,000 pages of 4 KiB)."""


class Database:
    """Async engine + sessions. `session()` commits on success and rolls back on error.

    On SQLite, the write-ahead log is checkpointed off the writers' path (app.storage.wal): after
    a session's (or `begin()`'s) commit that finds the log's file past `wal_checkpoint_bytes`, a
    passive checkpoint runs on a thread of its own connection while the caller goes on (`close`
    waits for it); past `HARD_LIMIT_FACTOR` times the size, the caller waits for one. Writes
    through neither leave the log to the next one's check, or to the last
    connection's close, which checkpoints it as SQLite always does.
    """

    def __init__(self, url: str, *, wal_checkpoint_bytes: int = WAL_CHECKPOINT_BYTES) -> None:
        self.url = url
        self.engine: AsyncEngine = make_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._wal_checkpoint_bytes = wal_checkpoint_bytes
        database = make_url(url).database if self.engine.dialect.name == "sqlite" else None
        # an SQLite file's checkpoints (None: PostgreSQL, or SQLite in memory)
        self.checkpointer = Checkpointer(database) if database and database != ":memory:" else None
        if self.checkpointer is not None:
            event.listen(self.engine.sync_engine, "connect", lambda conn, _record: no_automatic_checkpoint(conn))

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session
        await self._checkpoint_when_due()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction, committed on success (Core writes: bulk imports)."""
        async with self.engine.begin() as conn:
            yield conn
        await self._checkpoint_when_due()

    async def _checkpoint_when_due(self) -> None:
        """Start a checkpoint when the log is due; wait for one when it is far past (a writer
        that never paused left the ones beside it behind: app.storage.wal)."""
        checkpointer = self.checkpointer
        if checkpointer is None:
            return
        try:
            size = os.stat(f"{checkpointer.path}-wal").st_size
        except FileNotFoundError:
            return
        if size >= HARD_LIMIT_FACTOR * self._wal_checkpoint_bytes:
            await checkpointer.done()
            checkpointer.start()
            await checkpointer.done()
        elif size >= self._wal_checkpoint_bytes:
            checkpointer.start()

    async def checkpointed(self) -> None:
        """Return once no checkpoint is running (at once when none is)."""
        if self.checkpointer is not None:
            await self.checkpointer.done()

    async def close(self) -> None:
        await self.checkpointed()
        await self.engine.dispose()


def with_database(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """`work` on the database at `url`, opened and closed around it, in an event loop of its own:
    for work in a worker process (app.jobs.worker), which reads what it needs itself rather than
    being handed a record's rows (app.api.worker_answers)."""

    async def run() -> T:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(run())
