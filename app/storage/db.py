"""The database handle: one async engine and a session factory, made from a URL (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

log = logging.getLogger(__name__)

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

    On SQLite, the write-ahead log is checkpointed off the writers' path: SQLite's automatic
    checkpoint runs inside whichever commit takes the log past its size, and that commit pays
    for copying the log into the database and its fsync (a predictor cycle's 1,000-row insert:
    p99 22 ms instead of 10). Here connections do not checkpoint; after a session's commit that
    finds the log past `WAL_CHECKPOINT_BYTES`, a passive checkpoint runs on a thread of its own
    connection while the caller goes on (one at a time; `close` waits for it). The same after
    `begin()`. Writes through neither leave the log to the next one's check, or to the last
    connection's close, which checkpoints it as SQLite always does.
    """

    def __init__(self, url: str, *, wal_checkpoint_bytes: int = WAL_CHECKPOINT_BYTES) -> None:
        self.url = url
        self.engine: AsyncEngine = make_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._wal_checkpoint_bytes = wal_checkpoint_bytes
        database = make_url(url).database if self.engine.dialect.name == "sqlite" else None
        self._file = database if database and database != ":memory:" else None  # an SQLite file's path
        self._checkpoint: asyncio.Future[None] | None = None
        if self._file is not None:
            event.listen(self.engine.sync_engine, "connect", _no_automatic_checkpoint)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session
        self._checkpoint_when_due()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction, committed on success (Core writes: bulk imports)."""
        async with self.engine.begin() as conn:
            yield conn
        self._checkpoint_when_due()

    def _checkpoint_when_due(self) -> None:
        if self._file is None or (self._checkpoint is not None and not self._checkpoint.done()):
            return
        try:
            size = os.stat(f"{self._file}-wal").st_size
        except FileNotFoundError:
            return
        if size >= self._wal_checkpoint_bytes:
            self._checkpoint = asyncio.get_running_loop().run_in_executor(None, _checkpoint, self._file)

    async def checkpointed(self) -> None:
        """Return once no checkpoint is running (at once when none is)."""
        if self._checkpoint is not None:
            await asyncio.shield(self._checkpoint)

    async def close(self) -> None:
        await self.checkpointed()
        await self.engine.dispose()


def _no_automatic_checkpoint(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA wal_autocheckpoint = 0")
    cursor.close()


def _checkpoint(path: str) -> None:
    """A passive checkpoint (it waits for no reader or writer) on a connection of its own; a
    failure is logged and the next due session tries again (the log still holds everything)."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=5.0)) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        log.exception("checkpoint of %s failed; tried again after a later commit", path)
