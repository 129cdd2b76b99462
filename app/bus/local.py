"""The embedded bus: an SQLite log written with group commit, fanned out in process."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from app.bus.errors import BusClosed, UnknownChannel
from app.bus.events import Batch, StoredEvent, encode_envelope
from app.bus.fanout import Fanout
from app.bus.metrics import COMMIT_SECONDS, COMMITS, EVENTS_PUBLISHED
from app.bus.interface import PayloadValidator
from app.bus.sqlite_log import Snapshot, SqliteEventLog
from app.bus.subscription import ResumeFailure, ResumeOutcome, Subscriber, Subscription

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Retention:
    """Per channel: keep at most `max_events`, none older than `max_age` seconds."""

    max_events: int = 100_000
    max_age: float = 7 * 24 * 3600.0
    interval: float = 60.0


@dataclass(slots=True)
class _Pending:
    """One publish call: its events (type, validated payload) and who waits for them."""

    channel: str
    events: list[tuple[str, object]]
    future: asyncio.Future[list[StoredEvent]]


class LocalEventBus:
    """EventBus on an SqliteEventLog.

    Publishers queue validated payloads; one writer task takes everything queued, assigns
    ids, encodes each envelope once, commits the lot in one transaction on the writer
    thread, and only then fans the batch out and answers the publishers.

    :param log: the event log (not yet opened).
    :param validator: the contract; every payload is checked before it gets an id.
    :param retention: how much history each channel keeps.
    :param clock: wall-clock seconds, for event `ts` and retention by age.
    :param max_batch: the most events one transaction takes.
    :param replay_page: events read per page of a replay.
    """

    def __init__(
        self,
        log: SqliteEventLog,
        validator: PayloadValidator,
        *,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.time,
        max_batch: int = 4096,
        replay_page: int = 512,
    ) -> None:
        self._log = log
        self._validator = validator
        self._retention = retention or Retention()
        self._clock = clock
        self._max_batch = max_batch
        self._replay_page = replay_page
        self._fanout = Fanout()
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._head = 0
        self._next_id = 1
        self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="bus-writer")
        self._read_threads = ThreadPoolExecutor(4, thread_name_prefix="bus-reader")
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def epoch(self) -> str:
        return self._log.epoch

    @property
    def head_id(self) -> int:
        return self._head

    @property
    def channels(self) -> tuple[str, ...]:
        return self._validator.channels

    def subscriber_count(self, channel: str | None = None) -> int:
        return self._fanout.count(channel)

    async def _on(self, pool: ThreadPoolExecutor, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    async def start(self) -> None:
        await self._on(self._write_thread, self._log.open)
        self._head = self._log.last_id
        self._next_id = self._head + 1
        self._tasks = [asyncio.create_task(self._write_loop()), asyncio.create_task(self._prune_loop())]
        log.info("event log open", extra={"path": str(self._log.path), "epoch": self.epoch, "head_id": self._head})

    async def close(self) -> None:
        """Commit what is queued, then stop; later publishes raise BusClosed."""
        if self._closing:
            return
        self._closing = True
        self._wakeup.set()
        writer, pruner = self._tasks
        pruner.cancel()
        await asyncio.gather(writer, pruner, return_exceptions=True)
        await self._on(self._write_thread, self._log.close)
        self._write_thread.shutdown()
        self._read_threads.shutdown()

    # --- publishing ---------------------------------------------------------------------

    async def publish(self, channel: str, type: str, payload: object) -> StoredEvent:
        """Validate, store durably, fan out; returns the stored event. Raises InvalidEvent."""
        (event,) = await self.publish_many(channel, [(type, payload)])
        return event

    async def publish_many(self, channel: str, events: Sequence[tuple[str, object]]) -> list[StoredEvent]:
        """Publish events of one channel together, in order, all or none.

        Every payload is validated before any is queued; they share one transaction and get
        consecutive ids.
        """
        if self._closing:
            raise BusClosed("the event bus is closed")
        bodies = [(type, self._validator.validate(channel, type, payload)) for type, payload in events]
        if not bodies:
            return []
        future: asyncio.Future[list[StoredEvent]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(channel, bodies, future))
        self._wakeup.set()
        return await future

    async def _write_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                await self._commit(self._take_batch())
            if self._closing:
                return

    def _take_batch(self) -> list[_Pending]:
        """Queued publishes up to max_batch events (at least one publish, never split)."""
        taken, count = 0, 0
        while taken < len(self._queue) and (taken == 0 or count + len(self._queue[taken].events) <= self._max_batch):
            count += len(self._queue[taken].events)
            taken += 1
        batch = self._queue[:taken]
        del self._queue[:taken]
        return batch

    async def _commit(self, pending: list[_Pending]) -> None:
        ts = int(self._clock())
        next_id = self._next_id
        stored: list[list[StoredEvent]] = []
        for p in pending:
            events = []
            for type, payload in p.events:
                events.append(StoredEvent(next_id, p.channel, type, ts, encode_envelope(next_id, p.channel, type, payload, ts)))
                next_id += 1
            stored.append(events)
        events = [e for group in stored for e in group]
        try:
            with COMMIT_SECONDS.time():
                await self._on(self._write_thread, self._log.append, events)
        except Exception as e:  # nothing was stored: the ids are reused, nobody saw them
            log.exception("event log append failed; %d publishes fail", len(events))
            for p in pending:
                if not p.future.done():
                    p.future.set_exception(e)
            return
        self._next_id = next_id
        self._head = events[-1].id
        COMMITS.inc()
        for p, group in zip(pending, stored, strict=True):
            EVENTS_PUBLISHED.labels(p.channel).inc(len(group))
        self._fanout.dispatch(events)
        for p, group in zip(pending, stored, strict=True):
            if not p.future.done():
                p.future.set_result(group)

    # --- retention ----------------------------------------------------------------------

    async def prune(self) -> int:
        """Apply retention now; returns how many events were deleted."""
        min_ts = int(self._clock() - self._retention.max_age)
        prune = partial(self._log.prune, channels=self.channels, max_events=self._retention.max_events, min_ts=min_ts)
        return await self._on(self._write_thread, prune)

    async def _prune_loop(self) -> None:
        while True:
            try:
                deleted = await self.prune()
                if deleted:
                    log.info("retention deleted events", extra={"deleted": deleted})
            except Exception:
                log.exception("retention failed; retrying next interval")
            await asyncio.sleep(self._retention.interval)

    # --- reading ------------------------------------------------------------------------

    def _check_channel(self, channel: str) -> None:
        if channel not in self.channels:
            raise UnknownChannel(channel, self.channels)

    async def history(self, channel: str, *, after: int, limit: int) -> list[StoredEvent]:
        self._check_channel(channel)
        return await self._on(self._read_threads, self._log.read_after, channel, after, limit)

    async def floor(self, channel: str) -> int:
        """The highest id of `channel` that retention has deleted (0 when none)."""
        self._check_channel(channel)
        return await self._on(self._read_threads, self._log.floor, channel)

    async def subscribe(
        self, channel: str, subscriber: Subscriber, *, after: int | None = None, epoch: str | None = None
    ) -> Subscription:
        self._check_channel(channel)
        sub = self._fanout.add(channel, subscriber)  # first: live events from here on wait in `sub`
        try:
            head = self._head
            snapshot: Snapshot | None = None
            failure: ResumeFailure | None = None
            if after is not None:
                if epoch is not None and epoch != self.epoch:
                    failure = ResumeFailure.EPOCH_CHANGED
                elif after > head:
                    failure = ResumeFailure.AHEAD
                else:
                    snapshot = await self._on(self._read_threads, self._log.open_snapshot, channel)
                    if after < snapshot.floor:
                        failure = ResumeFailure.TOO_OLD
            try:
                resumed = snapshot is not None and failure is None
                sub.last_id = after if resumed and after is not None else head
                subscriber.ready(ResumeOutcome(self.epoch, head, resumed, failure))
                if resumed and snapshot is not None:
                    await self._replay(sub, snapshot, head)
            finally:
                if snapshot is not None:
                    await self._on(self._read_threads, snapshot.close)
            sub.go_live()
        except BaseException:
            sub.close()
            raise
        return sub

    async def _replay(self, sub: Subscription, snapshot: Snapshot, head: int) -> None:
        """Deliver the snapshot's events after sub.last_id up to head, page by page, paced."""
        while sub.last_id < head:
            events = await self._on(self._read_threads, snapshot.read_after, sub.last_id, self._replay_page)
            if not events:
                return
            sub.forward(Batch(sub.channel, events))
            if not await sub.subscriber.drained():
                return

