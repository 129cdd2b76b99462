"""The market feed: one bar source at a time, its latest bars, and their fan-out in process.

A `BarSource` (simulated market, candle replay, later a broker) yields `BarSet`s in time
order, each when its bars have closed on the source's clock. `MarketFeed` runs one source as
a task, keeps the latest BarSet and a short history, and hands every BarSet to

- callbacks (`add_listener`): called inline, in order, on the feed's task. They must not
  block or await; the WebSocket fan-out is one (it only queues bytes on sockets). A callback
  that raises is logged and kept.
- subscriptions (`subscribe`): an async iterator over a bounded queue per subscriber. A
  subscriber that falls `maxsize` BarSets behind loses the OLDEST queued BarSet for each new
  one (market data is conflated: the freshest bars matter most) and `dropped` counts what it
  lost, so a consumer that needs every bar can tell and resynchronise (`feed.recent()`).
  The feed never waits for a subscriber, so a slow one cannot stall the others.

Ticks: a source that is also a `TickSource` (Upstox's feed) hands on each message's last trades
between bar closes; the feed passes them to its tick listeners (`add_tick_listener`), inline on
the source's task, the same rules as bar callbacks (never block, never await, never keep the
mapping). A listener that must do slow work (the trading engine) keeps only what it needs and
does the work on a task of its own (`app.trading.ticks.LatestPrices`).

The source can be started, stopped and swapped at runtime; `instruments` and `interval`
are the current source's. Lifecycle: IDLE -> RUNNING -> FINISHED (source ended) or FAILED
(source raised, or broke the BarSource promise); `stop` returns to IDLE; `close` is final.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from enum import StrEnum
from types import TracebackType
from typing import Protocol

import numpy as np
import pandas as pd
from prometheus_client import Counter

from app.core.listeners import Listeners
from app.market.bars import BarSet
from app.market.errors import BadBars, FeedStateError
from app.market.intervals import Interval
from app.market.ticks import LastTrades, TickListener, TickSource

log = logging.getLogger(__name__)

BARSETS = Counter("signaldesk_market_barsets_total", "BarSets the market feed handed out")
TICKS = Counter("signaldesk_market_ticks_total", "Last trades the market feed handed to its tick listeners")
DROPPED = Counter("signaldesk_market_dropped_total", "BarSets dropped from slow in-process subscribers' queues")


class BarSource(Protocol):
    """Where bars come from. Iterating yields BarSets in time order, each once its bars close."""

    @property
    def interval(self) -> Interval: ...

    @property
    def instruments(self) -> tuple[str, ...]: ...

    def __aiter__(self) -> AsyncIterator[BarSet]: ...


BarListener = Callable[[BarSet], None]
StateListener = Callable[["FeedState"], None]


class FeedState(StrEnum):
    IDLE = "idle"  # no source
    RUNNING = "running"
    FINISHED = "finished"  # the source ended (a replay ran out)
    FAILED = "failed"  # the source raised or broke its promise; see `error`
    CLOSED = "closed"


class BarSubscription:
    """One in-process subscriber's bounded queue of BarSets; iterate it, close it when done."""

    def __init__(self, feed: MarketFeed, maxsize: int, name: str) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self.maxsize = maxsize
        self.name = name
        self.dropped = 0
        self._feed = feed
        self._queue: deque[BarSet] = deque()
        self._ready = asyncio.Event()
        self._closed = False

    def __aiter__(self) -> BarSubscription:
        return self

    async def __anext__(self) -> BarSet:
        while not self._queue:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def pending(self) -> int:
        """BarSets queued and not yet taken."""
        return len(self._queue)

    def close(self) -> None:
        """Stop receiving; an iteration in progress ends once the queue is empty."""
        self._closed = True
        self._ready.set()
        self._feed._unsubscribe(self)

    async def __aenter__(self) -> BarSubscription:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _offer(self, bars: BarSet) -> None:
        if len(self._queue) >= self.maxsize:
            self._queue.popleft()
            self.dropped += 1
            DROPPED.inc()
            if self.dropped == 1:
                log.warning("market subscriber %s is %d BarSets behind; dropping its oldest", self.name, self.maxsize)
        self._queue.append(bars)
        self._ready.set()


class MarketFeed:
    """Runs one BarSource and fans its BarSets out in process.

    :param history: BarSets kept for `recent` and `history` (per source; cleared on a new one).
    :param queue_size: default queue length of a subscription.
    """

    def __init__(self, *, history: int = 375, queue_size: int = 256) -> None:
        if history < 1 or queue_size < 1:
            raise ValueError("history and queue_size must be >= 1")
        self.queue_size = queue_size
        self._history: deque[BarSet] = deque(maxlen=history)
        self._listeners: Listeners[BarSet] = Listeners("market listener")
        self._state_listeners: Listeners[FeedState] = Listeners("market state listener")
        self._tick_listeners: Listeners[LastTrades] = Listeners("market tick listener")
        self._remove_ticks: Callable[[], None] | None = None  # from the current source
        self._subscriptions: set[BarSubscription] = set()
        self._source: BarSource | None = None
        self._task: asyncio.Task[None] | None = None
        self._state = FeedState.IDLE
        self.error: BaseException | None = None

    # --- state --------------------------------------------------------------------------

    @property
    def state(self) -> FeedState:
        return self._state

    @property
    def source(self) -> BarSource | None:
        return self._source

    @property
    def instruments(self) -> tuple[str, ...]:
        """The current source's instruments (empty without a source)."""
        return self._source.instruments if self._source is not None else ()

    @property
    def interval(self) -> Interval | None:
        return self._source.interval if self._source is not None else None

    @property
    def latest(self) -> BarSet | None:
        """The most recent BarSet of the current source."""
        return self._history[-1] if self._history else None

    def recent(self, n: int | None = None) -> list[BarSet]:
        """The last `n` BarSets (all kept when None), oldest first."""
        bars = list(self._history)
        return bars if n is None else bars[max(0, len(bars) - n) :]

    def history(self, instrument_key: str, n: int | None = None) -> pd.DataFrame:
        """One instrument's kept bars, oldest first, like a candle store read: columns ts (bar
        open), close_ts, open, high, low, close, volume; bars it did not have are left out."""
        bars = self.recent(n)
        columns = ["ts", "close_ts", "open", "high", "low", "close", "volume"]
        if not bars or instrument_key not in bars[-1].instruments:
            if self._source is not None and instrument_key not in self.instruments:
                raise KeyError(f"{instrument_key!r} is not an instrument of the current market source")
            return pd.DataFrame({c: np.empty(0, dtype=np.int64 if "ts" in c else np.float64) for c in columns})
        i = bars[-1].instruments.index(instrument_key)
        frame = pd.DataFrame(
            {
                "ts": np.array([b.open_ts for b in bars], dtype=np.int64),
                "close_ts": np.array([b.close_ts for b in bars], dtype=np.int64),
                **{f: np.array([getattr(b, f)[i] for b in bars]) for f in ("open", "high", "low", "close", "volume")},
            }
        )
        return frame[~np.isnan(frame["close"].to_numpy())].reset_index(drop=True)

    # --- listeners ----------------------------------------------------------------------

    def add_listener(self, callback: BarListener) -> Callable[[], None]:
        """Call `callback(bars)` inline for every BarSet; returns the function that removes it."""
        return self._listeners.add(callback)

    def add_state_listener(self, callback: StateListener) -> Callable[[], None]:
        """Call `callback(state)` inline after every lifecycle change (a new source included)."""
        return self._state_listeners.add(callback)

    def _set_state(self, state: FeedState) -> None:
        self._state = state
        self._state_listeners(state)

    def add_tick_listener(self, callback: TickListener) -> Callable[[], None]:
        """Call `callback(trades)` inline for every message of ticks of the current (and any later)
        source; returns the function that removes it. See the module docstring."""
        return self._tick_listeners.add(callback)

    def subscribe(self, *, maxsize: int | None = None, name: str = "subscriber") -> BarSubscription:
        """A bounded queue of every BarSet from now on; see the module docstring for overflow."""
        if self._state is FeedState.CLOSED:
            raise FeedStateError("subscribe to", self._state)
        subscription = BarSubscription(self, maxsize or self.queue_size, name)
        self._subscriptions.add(subscription)
        return subscription

    def _unsubscribe(self, subscription: BarSubscription) -> None:
        self._subscriptions.discard(subscription)

    # --- the source ---------------------------------------------------------------------

    def start(self, source: BarSource) -> None:
        """Run `source` as a task. The history starts afresh."""
        if self._state in (FeedState.RUNNING, FeedState.CLOSED):
            raise FeedStateError("start", self._state)
        self._source = source
        self._history.clear()
        self.error = None
        if isinstance(source, TickSource):
            self._remove_ticks = source.add_tick_listener(self._publish_ticks)
        self._task = asyncio.create_task(self._run(source), name=f"market-feed:{type(source).__name__}")
        self._set_state(FeedState.RUNNING)
        log.info(
            "market feed started: %s, %s, %d instruments",
            type(source).__name__,
            source.interval.name,
            len(source.instruments),
        )

    async def stop(self) -> None:
        """Stop the source (if any); subscriptions stay open for the next one."""
        if self._state is FeedState.CLOSED:
            raise FeedStateError("stop", self._state)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        remove_ticks, self._remove_ticks = self._remove_ticks, None
        if remove_ticks is not None:
            remove_ticks()
        self._set_state(FeedState.IDLE)

    async def swap(self, source: BarSource) -> None:
        """Stop the current source and start `source`."""
        await self.stop()
        self.start(source)

    async def join(self) -> FeedState:
        """Wait until the current source ends (FINISHED/FAILED); at once when none runs."""
        if self._task is not None:
            await asyncio.shield(self._task)
        return self._state

    async def close(self) -> None:
        """Stop the source and end every subscription. Final."""
        if self._state is FeedState.CLOSED:
            return
        await self.stop()
        self._set_state(FeedState.CLOSED)
        for subscription in list(self._subscriptions):
            subscription.close()
        self._listeners.clear()
        self._tick_listeners.clear()

    async def _run(self, source: BarSource) -> None:
        iterator = aiter(source)
        name = type(source).__name__
        previous: int | None = None
        try:
            async for bars in iterator:
                self._check(name, source, bars, previous)
                previous = bars.close_ts
                self._publish(bars)
            self._set_state(FeedState.FINISHED)
            log.info("market source %s finished", name)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.error = e
            self._set_state(FeedState.FAILED)
            log.exception("market source %s failed", name)
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()

    @staticmethod
    def _check(name: str, source: BarSource, bars: BarSet, previous: int | None) -> None:
        if previous is not None and bars.close_ts <= previous:
            raise BadBars(name, f"BarSet closing at {bars.close_ts} came after one closing at {previous}")
        if bars.interval != source.interval:
            raise BadBars(name, f"BarSet of {bars.interval.name} from a {source.interval.name} source")
        if bars.instruments is not source.instruments and bars.instruments != source.instruments:
            raise BadBars(name, "BarSet instruments differ from the source's")

    def _publish(self, bars: BarSet) -> None:
        self._history.append(bars)
        BARSETS.inc()
        self._listeners(bars)
        for subscription in list(self._subscriptions):
            subscription._offer(bars)

    def _publish_ticks(self, trades: LastTrades) -> None:
        TICKS.inc(len(trades))
        self._tick_listeners(trades)
