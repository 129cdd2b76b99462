"""SQLite's write-ahead log checkpointed off the writers' path.

SQLite's automatic checkpoint runs inside whichever commit takes the log past 1,000 pages, and
that commit pays for copying the log into the database file and its fsync (a predictor
cycle's 1,000-row insert: p99 22 ms instead of 10). The writers here turn it off
(`no_automatic_checkpoint`) and, once a commit finds the log due, a `Checkpointer` copies it on
a thread with a connection of its own while the writer goes on (WAL lets a checkpoint run
beside a writer). PASSIVE: it never waits for readers or writers; what it could not copy, the
next one does. For writers that come in bursts (a predictor cycle, a trade): a writer that
never pauses would leave every checkpoint behind, and the log is only started again once one
has copied all of it; so past `HARD_LIMIT_FACTOR` times its threshold a writer waits for one.

The log's file keeps its size after a checkpoint (later commits write it again from its start),
so a writer also sets `journal_size_limit` to 0: the file is cut back when the log starts
again, and its size says how much was written since.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from typing import Any

log = logging.getLogger(__name__)

HARD_LIMIT_FACTOR = 4


def no_automatic_checkpoint(conn: Any) -> None:
    """Set a writer's connection (sqlite3's, or a DBAPI one) never to checkpoint in a commit."""
    cursor = conn.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint = 0")
    cursor.execute("PRAGMA journal_size_limit = 0")
    cursor.close()


def checkpoint(path: str) -> None:
    """A passive checkpoint of the SQLite file at `path` on a connection of its own. A failure
    is logged, not raised: the log still holds everything, and the next due commit tries again."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=5.0)) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        log.exception("checkpoint of %s failed; tried again after a later commit", path)


class Checkpointer:
    """Runs `checkpoint` of one file on the event loop's default executor, one at a time: `start`
    while one runs does nothing (the running one copies what is committed when it reads the log)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.started = 0  # checkpoints started: how often commits found the log due
        self._running: asyncio.Future[None] | None = None

    @property
    def running(self) -> bool:
        return self._running is not None and not self._running.done()

    def start(self) -> None:
        if not self.running:
            self.started += 1
            self._running = asyncio.get_running_loop().run_in_executor(None, checkpoint, self.path)

    async def done(self) -> None:
        """Return once no checkpoint is running (at once when none is)."""
        if self._running is not None:
            await asyncio.shield(self._running)
