"""What every bus backend shares: the publish queue with group commit, subscriptions with
resume and paced replay, and retention. A backend stores, reads and trims; this class keeps
the guarantees of app.bus.interface.EventBus the same whatever the storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.bus.errors import BusClosed, UnknownChannel
from app.bus.events import Batch, StoredEvent
from app.bus.fanout import Fanout
from app.bus.interface import PayloadValidator
from app.bus.metrics import COMMIT_SECONDS, COMMITS, published_on
from app.bus.subscription import ResumeFailure, ResumeOutcome, Subscriber, Subscription
from app.storage.faults import storage_fault

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Retention:
    """Per channel: keep at most `max_events`, none older than `max_age` seconds."""

    max_events: int = 100_000
    max_age: float = 7 * 24 * 3600.0
    interval: float = 60.0


@dataclass(slots=True)
class Pending:
    """One publish call: its events (type, validated payload) and who waits for them."""

    channel: str
    events: list[tuple[str, dict[str, object]]]
    future: asyncio.Future[list[StoredEvent]]


class ReplaySource(Protocol):
    """A consistent view of one channel for a replay: `floor` as of its opening, then pages.

    `read_after` raises ReplayOvertaken if retention deleted events the replay had not read.
    """

    floor: int

    async def read_after(self, after: int, limit: int) -> list[StoredEvent]: ...

    async def close(self) -> None: ...


class BaseEventBus(ABC):
    """The EventBus guarantees on top of a backend's storage.

    Publishers queue validated payloads; one writer task takes everything queued and hands it
    to `_append` (one round trip / transaction: group commit), and only once that returns
    are the publishers answered. A backend whose own process's appends are the only events
    (`dispatches_appends = True`) fans them out right after; a shared backend instead feeds
    `_dispatch` from its reader, for every process alike.

    :param validator: the contract; every payload is checked before it is queued.
    :param retention: how much history each channel keeps.
    :param clock: wall-clock seconds, for event `ts` and retention by age.
    :param max_batch: the most events one append takes.
    :param replay_page: events read per page of a replay.
    """

    dispatches_appends = True

    def __init__(
        self,
        validator: PayloadValidator,
        *,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.time,
        max_batch: int = 4096,
        replay_page: int = 512,
    ) -> None:
        self._validator = validator
        self._retention = retention or Retention()
        self._clock = clock
        self._max_batch = max_batch
        self._replay_page = replay_page
        self._fanout = Fanout()
        self._queue: list[Pending] = []
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._prune_lock = asyncio.Lock()
        self._closing = False
        self._head = 0
        self._epoch = ""
        self._tasks: list[asyncio.Task[None]] = []
        # why the last append failed, when the disk refused it (full, read-only, failing); None
        # once an append succeeds again: /api/health shows it as `degraded`
        self.storage_fault: str | None = None

    # --- what a backend provides --------------------------------------------------------

    @abstractmethod
    async def _open(self) -> int:
        """Open the storage, set `self._epoch`; return the highest stored id."""

    @abstractmethod
    async def _close_storage(self) -> None: ...

    @abstractmethod
    async def _append(self, pending: list[Pending], ts: int) -> list[list[StoredEvent]]:
        """Store every event of `pending` durably, ids in order; the stored events per publish."""

    @abstractmethod
    async def _history(self, channel: str, after: int, limit: int) -> list[StoredEvent]: ...

    @abstractmethod
    async def _floor(self, channel: str) -> int: ...

    @abstractmethod
    async def _replay_source(self, channel: str) -> ReplaySource: ...

    @abstractmethod
    async def _prune(self, *, max_events: int, min_ts: int) -> int:
        """Apply retention to every channel; return how many events were deleted."""

    async def _current_head(self) -> int:
        """The highest id stored anywhere in the log now (a subscription's starting point)."""
        return self._head

    def _background(self) -> list[asyncio.Task[None]]:
        """Tasks the backend runs besides the writer and the retention loop; they end soon
        after `_stopping` is set."""
        return []

    # --- state --------------------------------------------------------------------------

    @property
    def epoch(self) -> str:
        return self._epoch

    @property
    def head_id(self) -> int:
        return self._head

    @property
    def channels(self) -> tuple[str, ...]:
        return self._validator.channels

    def subscriber_count(self, channel: str | None = None) -> int:
        return self._fanout.count(channel)

    async def start(self) -> None:
        self._head = await self._open()
        self._tasks = [
            asyncio.create_task(self._write_loop()),
            asyncio.create_task(self._prune_loop()),
            *self._background(),
        ]
        log.info("event bus open", extra={"bus": type(self).__name__, "epoch": self.epoch, "head_id": self._head})

    async def close(self) -> None:
        """Store what is queued, then stop; later publishes raise BusClosed.

        Background loops end on `_stopping` rather than by cancellation: a task cancelled
        inside a client library's own timeouts (redis-py's) may never finish cancelling.
        """
        if self._closing:
            return
        self._closing = True
        self._wakeup.set()
        self._stopping.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._close_storage()

    # --- publishing ---------------------------------------------------------------------

    async def publish(self, channel: str, type: str, payload: object) -> StoredEvent:
        """Validate, store durably, fan out; returns the stored event. Raises InvalidEvent."""
        (event,) = await self.publish_many(channel, [(type, payload)])
        return event

    async def publish_many(self, channel: str, events: Sequence[tuple[str, object]]) -> list[StoredEvent]:
        """Publish events of one channel together, in order, all or none.

        Every payload is validated before any is queued; they share one append and get
        consecutive ids.
        """
        if self._closing:
            raise BusClosed("the event bus is closed")
        bodies = [(type, self._validator.validate(channel, type, payload)) for type, payload in events]
        if not bodies:
            return []
        future: asyncio.Future[list[StoredEvent]] = asyncio.get_running_loop().create_future()
        self._queue.append(Pending(channel, bodies, future))
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

    def _take_batch(self) -> list[Pending]:
        """Queued publishes up to max_batch events (at least one publish, never split)."""
        taken, count = 0, 0
        while taken < len(self._queue) and (taken == 0 or count + len(self._queue[taken].events) <= self._max_batch):
            count += len(self._queue[taken].events)
            taken += 1
        batch = self._queue[:taken]
        del self._queue[:taken]
        return batch

    async def _commit(self, pending: list[Pending]) -> None:
        try:
            with COMMIT_SECONDS.time():
                stored = await self._append(pending, int(self._clock()))
        except Exception as e:  # nothing was stored
            self.storage_fault = storage_fault(e)
            log.exception("event append failed; %d publishes fail", len(pending))
            for p in pending:
                if not p.future.done():
                    p.future.set_exception(e)
            return
        self.storage_fault = None
        if self.dispatches_appends:
            self._dispatch([e for group in stored for e in group])
        for p, group in zip(pending, stored, strict=True):
            if not p.future.done():
                p.future.set_result(group)
        COMMITS.inc()  # after the fan-out: counting never delays delivery
        for p, group in zip(pending, stored, strict=True):
            published_on(p.channel).inc(len(group))

    def _dispatch(self, events: list[StoredEvent]) -> None:
        """Hand durable events, in id order, to the live subscriptions."""
        if events:
            self._head = max(self._head, events[-1].id)
            self._fanout.dispatch(events)

    # --- retention ----------------------------------------------------------------------

    async def prune(self) -> int:
        """Apply retention now (one pass at a time); returns how many events were deleted."""
        async with self._prune_lock:
            min_ts = int(self._clock() - self._retention.max_age)
            return await self._prune(max_events=self._retention.max_events, min_ts=min_ts)

    async def _prune_loop(self) -> None:
        """A retention pass every interval, the first one interval after start."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._retention.interval)
            if self._stopping.is_set():
                return
            try:
                deleted = await self.prune()
                if deleted:
                    log.info("retention deleted events", extra={"deleted": deleted})
            except Exception:
                log.exception("retention failed; retrying next interval")

    # --- reading ------------------------------------------------------------------------

    def _check_channel(self, channel: str) -> None:
        if channel not in self.channels:
            raise UnknownChannel(channel, self.channels)

    async def history(self, channel: str, *, after: int, limit: int) -> list[StoredEvent]:
        self._check_channel(channel)
        return await self._history(channel, after, limit)

    async def floor(self, channel: str) -> int:
        """The highest id of `channel` that retention has deleted (0 when none)."""
        self._check_channel(channel)
        return await self._floor(channel)

    async def subscribe(
        self, channel: str, subscriber: Subscriber, *, after: int | None = None, epoch: str | None = None
    ) -> Subscription:
        self._check_channel(channel)
        sub = self._fanout.add(channel, subscriber)  # first: live events from here on wait in `sub`
        try:
            head = await self._current_head()
            source: ReplaySource | None = None
            failure: ResumeFailure | None = None
            if after is not None:
                if epoch is not None and epoch != self.epoch:
                    failure = ResumeFailure.EPOCH_CHANGED
                elif after > head:
                    failure = ResumeFailure.AHEAD
                else:
                    source = await self._replay_source(channel)
                    if after < source.floor:
                        failure = ResumeFailure.TOO_OLD
            try:
                resumed = source is not None and failure is None
                sub.last_id = after if resumed and after is not None else head
                subscriber.ready(ResumeOutcome(self.epoch, head, resumed, failure))
                if resumed and source is not None:
                    await self._replay(sub, source, head)
            finally:
                if source is not None:
                    await source.close()
            sub.go_live()
        except BaseException:
            sub.close()
            raise
        return sub

    async def _replay(self, sub: Subscription, source: ReplaySource, head: int) -> None:
        """Deliver the source's events after sub.last_id up to head, page by page, paced."""
        while sub.last_id < head:
            events = await source.read_after(sub.last_id, self._replay_page)
            if not events:
                return
            sub.forward(Batch(sub.channel, events))
            if not await sub.subscriber.drained():
                return
