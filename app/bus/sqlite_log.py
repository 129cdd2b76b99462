"""The embedded event log: one SQLite file in WAL mode.

Every method here blocks; the bus calls them from worker threads. Appends and pruning run on
one writer thread with one connection. Each read gets a connection of its own, so reads
never wait for a commit (WAL) and a replay reads one consistent snapshot.

The writer never checkpoints inside a commit: SQLite's automatic checkpoint would make the
commit that crosses its threshold wait for the copy into the database file and its fsync.
`append` says instead when the WAL has grown by about `checkpoint_pages` (SQLite's own
threshold by default), and the bus runs `checkpoint` on the writer thread once that commit's
events are out.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from app.bus.events import StoredEvent
from app.storage.sqlite_rows import RowsStatement

Synchronous = Literal["full", "normal"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id      INTEGER PRIMARY KEY,
    channel TEXT    NOT NULL,
    type    TEXT    NOT NULL,
    ts      INTEGER NOT NULL,
    data    BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS events_channel_id ON events (channel, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channel_floor (channel TEXT PRIMARY KEY, floor INTEGER NOT NULL);
"""

EVENT_COLUMNS = "id, channel, type, ts, data"
INSERT_EVENTS = RowsStatement(f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ", "(?, ?, ?, ?, ?)", "", 5)
"""A batch's events in as few statements as SQLite binds (app.storage.sqlite_rows)."""
PAGE_SIZE = 4096  # SQLite's default page size
PAGES_PER_COMMIT = 3  # what any commit rewrites: the events table's and its index's last leaf, meta


class SqliteEventLog:
    """Append-only event log with per-channel retention and an epoch.

    `floor` of a channel is the highest id retention has deleted from it: a reader that
    last saw an id below the floor has missed events.
    """

    def __init__(self, path: Path, *, synchronous: Synchronous = "full", checkpoint_pages: int = 1000) -> None:
        self.path = path
        self._synchronous = synchronous
        self._checkpoint_pages = checkpoint_pages
        self._wal_pages = 0  # written to the WAL since the last checkpoint (an estimate)
        self._local = threading.local()
        self._writer: sqlite3.Connection | None = None
        self._readers: list[sqlite3.Connection] = []
        self.epoch = ""
        self.last_id = 0

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute(f"PRAGMA synchronous = {self._synchronous.upper()}")
        return conn

    def open(self) -> None:
        """Create or open the log; a new log gets a new epoch."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.executescript(SCHEMA)
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()
        if row is None:
            self.epoch = secrets.token_hex(8)
            conn.execute("INSERT INTO meta (key, value) VALUES ('epoch', ?), ('last_id', '0')", (self.epoch,))
        else:
            self.epoch = row[0]
        conn.execute("COMMIT")
        (stored_last,) = conn.execute("SELECT value FROM meta WHERE key = 'last_id'").fetchone()
        (max_id,) = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        self.last_id = max(int(stored_last), max_id)
        self._writer = conn

    def close(self) -> None:
        """Close every connection; call once no thread uses the log any more."""
        for conn in self._readers:
            conn.close()
        self._readers.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # --- writer thread ------------------------------------------------------------------

    def append(self, events: Sequence[StoredEvent]) -> bool:
        """Store a batch in one transaction (group commit); durable when this returns.

        True when a checkpoint is due (call `checkpoint` after the batch has been fanned out).
        """
        conn = self._writer_conn()
        conn.execute("BEGIN")
        try:
            for sql, values in INSERT_EVENTS.statements(events):
                conn.execute(sql, values)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'last_id'", (str(events[-1].id),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.last_id = events[-1].id
        self._wal_pages += PAGES_PER_COMMIT + -(-sum(len(e.data) for e in events) // PAGE_SIZE)
        return self._wal_pages >= self._checkpoint_pages

    def checkpoint(self) -> None:
        """Copy the WAL into the database file as far as open readers allow (PASSIVE: it never
        waits for them); the WAL is then reused from its start by later commits."""
        self._writer_conn().execute("PRAGMA wal_checkpoint(PASSIVE)")
        self._wal_pages = 0

    def prune(self, *, channels: Iterable[str], max_events: int, min_ts: int) -> int:
        """Apply retention to each channel: keep its newest `max_events`, none older than `min_ts`.

        Returns how many events were deleted. A pass that deleted any ends with a checkpoint:
        its deletes rewrite pages that `append` does not count.
        """
        conn = self._writer_conn()
        deleted = 0
        conn.execute("BEGIN")
        try:
            for channel in channels:
                cut = self._retention_cut(conn, channel, max_events, min_ts)
                if cut is None:
                    continue
                cur = conn.execute("DELETE FROM events WHERE channel = ? AND id <= ?", (channel, cut))
                deleted += cur.rowcount
                conn.execute(
                    "INSERT INTO channel_floor (channel, floor) VALUES (?, ?) "
                    "ON CONFLICT (channel) DO UPDATE SET floor = max(floor, excluded.floor)",
                    (channel, cut),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if deleted:
            self.checkpoint()
        return deleted

    @staticmethod
    def _retention_cut(conn: sqlite3.Connection, channel: str, max_events: int, min_ts: int) -> int | None:
        """The highest id of `channel` that retention deletes, or None."""
        by_count = conn.execute(
            "SELECT id FROM events WHERE channel = ? ORDER BY id DESC LIMIT 1 OFFSET ?", (channel, max_events)
        ).fetchone()
        by_age = conn.execute("SELECT max(id) FROM events WHERE channel = ? AND ts < ?", (channel, min_ts)).fetchone()
        cuts = [row[0] for row in (by_count, by_age) if row is not None and row[0] is not None]
        return max(cuts) if cuts else None

    def _writer_conn(self) -> sqlite3.Connection:
        if self._writer is None:
            raise RuntimeError("the event log is not open")
        return self._writer

    # --- reader threads -----------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            self._readers.append(conn)
        return conn

    def read_after(self, channel: str, after: int, limit: int) -> list[StoredEvent]:
        """Up to `limit` events of `channel` with id > `after`, oldest first."""
        return _read_after(self._reader(), channel, after, limit)

    def floor(self, channel: str) -> int:
        return _floor(self._reader(), channel)

    def open_snapshot(self, channel: str) -> Snapshot:
        """A consistent read view of one channel, for a replay that spans many pages."""
        return Snapshot(self._connect(), channel)


def _read_after(conn: sqlite3.Connection, channel: str, after: int, limit: int) -> list[StoredEvent]:
    rows = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE channel = ? AND id > ? ORDER BY id LIMIT ?",
        (channel, after, limit),
    )
    return [StoredEvent(*row) for row in rows]


def _floor(conn: sqlite3.Connection, channel: str) -> int:
    row = conn.execute("SELECT floor FROM channel_floor WHERE channel = ?", (channel,)).fetchone()
    return row[0] if row else 0


class Snapshot:
    """One read transaction over a channel: pages read from it never miss a pruned event.

    Its methods block; call them from one worker thread at a time.
    """

    def __init__(self, conn: sqlite3.Connection, channel: str) -> None:
        self._conn = conn
        self.channel = channel
        conn.execute("BEGIN")
        self.floor = _floor(conn, channel)

    def read_after(self, after: int, limit: int) -> list[StoredEvent]:
        return _read_after(self._conn, self.channel, after, limit)

    def close(self) -> None:
        self._conn.execute("COMMIT")
        self._conn.close()
