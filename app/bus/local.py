"""The embedded bus: an SQLite log written with group commit, fanned out in process."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from app.bus.base import BaseEventBus, Pending, ReplaySource
from app.bus.events import StoredEvent, encode_envelope
from app.bus.interface import PayloadValidator
from app.bus.sqlite_log import Snapshot, SqliteEventLog

T = TypeVar("T")
log = logging.getLogger(__name__)


class LocalEventBus(BaseEventBus):
    """EventBus on an SqliteEventLog, for one process.

    Ids come from the log's own counter; each batch is encoded once and committed in one
    transaction on the writer thread (reads use their own threads and connections), then
    fanned out in process.

    :param log: the event log (not yet opened); other options as BaseEventBus.
    """

    def __init__(self, log: SqliteEventLog, validator: PayloadValidator, **options: Any) -> None:
        super().__init__(validator, **options)
        self._log = log
        self._next_id = 1
        self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="bus-writer")
        self._read_threads = ThreadPoolExecutor(4, thread_name_prefix="bus-reader")

    async def _on(self, pool: ThreadPoolExecutor, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    async def _open(self) -> int:
        await self._on(self._write_thread, self._log.open)
        self._epoch = self._log.epoch
        self._next_id = self._log.last_id + 1
        return self._log.last_id

    async def _close_storage(self) -> None:
        await self._on(self._write_thread, self._log.close)
        self._write_thread.shutdown()
        self._read_threads.shutdown()

    async def _append(self, pending: list[Pending], ts: int) -> list[list[StoredEvent]]:
        next_id = self._next_id
        stored: list[list[StoredEvent]] = []
        for p in pending:
            group = []
            for type, payload in p.events:
                group.append(
                    StoredEvent(next_id, p.channel, type, ts, encode_envelope(next_id, p.channel, type, payload, ts))
                )
                next_id += 1
            stored.append(group)
        due = await self._on(self._write_thread, self._log.append, [e for group in stored for e in group])
        self._next_id = next_id  # only now: a failed append reuses the ids nobody saw
        if due:  # queued behind this commit on the writer thread: it runs while the fan-out does
            self._write_thread.submit(self._checkpoint)
        return stored

    def _checkpoint(self) -> None:
        """On the writer thread. A failed checkpoint loses nothing (the WAL holds the events);
        the next commit asks for it again."""
        try:
            self._log.checkpoint()
        except sqlite3.Error:
            log.exception("event log checkpoint failed; retried after the next commit")

    async def _history(self, channel: str, after: int, limit: int) -> list[StoredEvent]:
        return await self._on(self._read_threads, self._log.read_after, channel, after, limit)

    async def _floor(self, channel: str) -> int:
        return await self._on(self._read_threads, self._log.floor, channel)

    async def _replay_source(self, channel: str) -> ReplaySource:
        snapshot = await self._on(self._read_threads, self._log.open_snapshot, channel)
        return _SnapshotSource(snapshot, self._read_threads)

    async def _prune(self, *, max_events: int, min_ts: int) -> int:
        prune = partial(self._log.prune, channels=self.channels, max_events=max_events, min_ts=min_ts)
        return await self._on(self._write_thread, prune)


class _SnapshotSource:
    """An SQLite read transaction as a ReplaySource: pruning cannot touch what it reads."""

    def __init__(self, snapshot: Snapshot, pool: ThreadPoolExecutor) -> None:
        self._snapshot = snapshot
        self._pool = pool
        self.floor = snapshot.floor

    async def read_after(self, after: int, limit: int) -> list[StoredEvent]:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._snapshot.read_after, after, limit)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, self._snapshot.close)
