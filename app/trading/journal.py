"""The trading journal: the engine's writes, staged as it decides and committed in one go.

Orders, trades, the paper broker's ledger and the engine's state are written here *before*
the events that announce them are published. A decision stages its rows (`stage`, no I/O);
`flush` commits everything staged in one transaction. A crash before the commit loses the
decision and its events together, never one without the other.

`SqliteJournal` commits with the standard library's sqlite3 (WAL, synchronous=NORMAL like the
rest of the relational store: it survives a crash of the process), inline when the write lock
is free, else on a thread of its own. One plain commit per flush is what keeps a price update to
a published `hft.entry` near a millisecond; the async SQLAlchemy session costs more than that.
Reads (REST, recovery) use SQLAlchemy (`app.trading.store`). `MemoryJournal`
(app.trading.memory_journal) keeps the last row per key in memory, for backtests.

`PostgresJournal` does the same on PostgreSQL, with asyncpg directly on a connection of its own:
one prepared upsert per (table, columns), each run of rows for it sent with `executemany`, all in
one transaction (BEGIN, the upserts, COMMIT: a few loopback round trips per flush). Both journals
build their SQL with `upsert_sql`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Table

from app.storage.urls import asyncpg_connect_args
from app.storage.wal import Checkpointer, no_automatic_checkpoint
from app.trading.errors import JournalError
from app.trading.tables import JOURNAL_TABLES

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

Row = Mapping[str, Any]


class Journal(Protocol):
    def stage(self, table: str, row: Row) -> None:
        """Queue an upsert of `row` (by the table's primary key) for the next flush."""
        ...

    @property
    def pending(self) -> bool:
        """Rows are staged that no flush has taken yet."""
        ...

    async def flush(self) -> None:
        """Commit everything staged, in one transaction; raises JournalError when it cannot."""
        ...

    async def close(self) -> None: ...


def upsert_sql(table: Table, columns: tuple[str, ...], dialect: str) -> str:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE of `columns` (only those: a row may be partial),
    for either journal: SQLite's named placeholders (:col), or PostgreSQL's numbered ones ($1)."""
    keys = [c.name for c in table.primary_key.columns]
    unknown = set(columns) - set(table.columns.keys())
    if unknown:
        raise KeyError(f"{table.name} has no column {', '.join(sorted(unknown))}")
    if dialect == "sqlite":
        placeholders = [f":{c}" for c in columns]
    elif dialect == "postgresql":
        placeholders = [f"${i}" for i in range(1, len(columns) + 1)]
    else:
        raise ValueError(f"no trading journal for {dialect}")
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in keys)
    conflict = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    names = ", ".join(f'"{c}"' for c in columns)
    key_names = ", ".join(f'"{c}"' for c in keys)
    return (
        f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join(placeholders)}) ON CONFLICT ({key_names}) {conflict}'
    )


class SqliteJournal:
    """Journal on an SQLite file (the relational store's, whose tables Alembic created).

    A flush commits inline on the event loop when it can (WAL, synchronous=NORMAL: tens of
    microseconds, no thread to wake): it tries the write lock without waiting and, when another
    writer holds it (the predictor's session, say), hands the write to its own thread, which waits
    for the lock. Flushes always commit in the order they were made: none goes inline while one
    is still queued on the thread. Neither connection checkpoints in a commit; every
    `checkpoint_every` inline commits a checkpoint runs beside them (app.storage.wal).
    """

    def __init__(self, path: Path, *, busy_timeout: float = 5.0, checkpoint_every: int = 500) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._checkpoint_every = checkpoint_every
        self._staged: list[tuple[str, Row]] = []
        self._sql: dict[tuple[str, tuple[str, ...]], str] = {}
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="trading-journal")
        self._conn: sqlite3.Connection | None = None  # the thread's
        self._inline: sqlite3.Connection | None = None
        self._queued = 0  # flushes handed to the thread and not done yet
        self._inline_commits = 0
        self._checkpointer = Checkpointer(str(path))

    def stage(self, table: str, row: Row) -> None:
        key = (table, tuple(row))
        sql = self._sql.get(key)
        if sql is None:
            sql = self._sql[key] = upsert_sql(JOURNAL_TABLES[table], key[1], "sqlite")
        self._staged.append((sql, row))

    @property
    def pending(self) -> bool:
        return bool(self._staged)

    async def flush(self) -> None:
        if not self._staged:
            return
        staged, self._staged = self._staged, []
        try:
            if self._queued == 0 and self._write_inline(staged):
                return
            self._queued += 1
            try:
                await asyncio.get_running_loop().run_in_executor(self._thread, self._write_queued, staged)
            finally:
                self._queued -= 1
        except sqlite3.Error as e:
            raise JournalError(f"the trading journal could not commit {len(staged)} rows: {e}") from e

    def _write_inline(self, staged: list[tuple[str, Row]]) -> bool:
        """Commit on the calling thread if the write lock is free right now; False when it is not."""
        if self._inline is None:
            self._inline = self._connect(busy_timeout=0.0)
        try:
            self._inline.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                return False
            raise
        _apply(self._inline, staged)
        self._inline_commits += 1
        if self._inline_commits % self._checkpoint_every == 0:
            self._checkpointer.start()
        return True

    def _write_queued(self, staged: list[tuple[str, Row]]) -> None:
        if self._conn is None:
            self._conn = self._connect(busy_timeout=self._busy_timeout)
        self._conn.execute("BEGIN IMMEDIATE")
        _apply(self._conn, staged)

    def _connect(self, *, busy_timeout: float) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        no_automatic_checkpoint(conn)
        return conn

    async def close(self) -> None:
        await self._checkpointer.done()

        def shut() -> None:
            for conn in (self._conn, self._inline):
                if conn is not None:
                    conn.close()
            self._conn = self._inline = None

        await asyncio.get_running_loop().run_in_executor(self._thread, shut)
        self._thread.shutdown()


def _apply(conn: sqlite3.Connection, staged: list[tuple[str, Row]]) -> None:
    """Run the staged upserts in the transaction just begun, and commit (roll back on failure)."""
    try:
        for sql, row in staged:
            conn.execute(sql, row)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


StatementKey = tuple[str, tuple[str, ...]]  # (table, columns)


class PostgresJournal:
    """Journal on PostgreSQL (the relational store's database, whose tables Alembic created).

    A dedicated asyncpg connection, opened at the first flush (and again after one that lost it).
    A flush is one transaction: for each run of staged rows with the same (table, columns), the
    prepared upsert's `executemany`; any failure rolls the whole flush back and raises
    JournalError. Flushes commit one at a time, in the order they were made.

    A commit is as durable as the server's `synchronous_commit` makes it (PostgreSQL's default,
    on: it survives a crash of the database server too, not only of this process).

    :param timeout: seconds a flush may take before it fails (and the connection is replaced).
    """

    def __init__(self, url: str, *, timeout: float = 10.0, connect_timeout: float = 10.0) -> None:
        self.url = url
        self._connect_args = asyncpg_connect_args(url)
        self._connect_args.setdefault("server_settings", {})["application_name"] = "signaldesk-journal"
        self._connect_args["timeout"] = connect_timeout
        self._timeout = timeout
        self._sql: dict[StatementKey, str] = {}
        self._staged: list[tuple[StatementKey, tuple[Any, ...]]] = []
        self._conn: asyncpg.Connection | None = None
        self._prepared: dict[StatementKey, asyncpg.prepared_stmt.PreparedStatement] = {}
        self._lock = asyncio.Lock()  # one flush on the connection at a time, first come first served

    def stage(self, table: str, row: Row) -> None:
        key = (table, tuple(row))
        if key not in self._sql:
            self._sql[key] = upsert_sql(JOURNAL_TABLES[table], key[1], "postgresql")
        self._staged.append((key, tuple(row.values())))

    @property
    def pending(self) -> bool:
        return bool(self._staged)

    async def flush(self) -> None:
        if not self._staged:
            return
        staged, self._staged = self._staged, []
        async with self._lock:
            try:
                async with asyncio.timeout(self._timeout):
                    await self._write(staged)
            except BaseException as e:
                # Rolled back (or never begun). The connection may be lost, stuck mid-protocol or
                # fine (a row the server refused): it is replaced either way, at the next flush.
                await self._drop()
                if not isinstance(e, Exception):  # cancelled: not the journal's failure to report
                    raise
                reason = "timed out" if isinstance(e, TimeoutError) else " ".join(str(e).split()) or type(e).__name__
                raise JournalError(f"the trading journal could not commit {len(staged)} rows: {reason}") from e

    async def _write(self, staged: list[tuple[StatementKey, tuple[Any, ...]]]) -> None:
        conn = self._conn if self._conn is not None and not self._conn.is_closed() else await self._connect()
        async with conn.transaction():
            for key, run in groupby(staged, key=itemgetter(0)):
                statement = self._prepared.get(key)
                if statement is None:
                    statement = self._prepared[key] = await conn.prepare(self._sql[key])
                await statement.executemany([args for _, args in run])

    async def _connect(self) -> asyncpg.Connection:
        import asyncpg

        await self._drop()
        self._conn = await asyncpg.connect(**self._connect_args)
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._prepared.clear()  # prepared statements belong to their connection
        if conn is not None and not conn.is_closed():
            conn.terminate()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        self._prepared.clear()
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), 5)
            except (OSError, TimeoutError) as e:
                log.warning("trading journal: closing its PostgreSQL connection failed: %s", e)
                conn.terminate()
