"""MarketFeed: fan-out to callbacks and bounded subscriptions, history, lifecycle, bad sources."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

import numpy as np
import pytest

from app.market.bars import BarSet
from app.market.calendar import NseCalendar
from app.market.clock import ManualClock
from app.market.errors import BadBars, FeedStateError
from app.market.feed import FeedState, MarketFeed
from app.market.intervals import CANONICAL, Interval
from app.market.simulated import SimulatedMarket, universe
from tests.market.conftest import ist

START = ist("2024-01-25 09:15")
ONE_MINUTE = CANONICAL["1m"]


class ListSource:
    """A finite BarSource of given BarSets, yielded at once; records whether it was closed."""

    def __init__(self, bars: Sequence[BarSet], interval: Interval = ONE_MINUTE) -> None:
        self.bars = bars
        self._interval = interval
        self._instruments = bars[0].instruments
        self.closed = False

    @property
    def interval(self) -> Interval:
        return self._interval

    @property
    def instruments(self) -> tuple[str, ...]:
        return self._instruments

    async def __aiter__(self) -> AsyncIterator[BarSet]:
        try:
            for bars in self.bars:
                await asyncio.sleep(0)
                yield bars
        finally:
            self.closed = True


class WaitingSource(ListSource):
    """Yields its bars, then waits forever (until cancelled)."""

    async def __aiter__(self) -> AsyncIterator[BarSet]:
        try:
            for bars in self.bars:
                yield bars
            await asyncio.Event().wait()
        finally:
            self.closed = True


def bar_set(close_ts: int, closes: Sequence[float], keys: tuple[str, ...] = ("A|1", "B|2")) -> BarSet:
    c = np.array(closes, dtype=float)
    return BarSet(ONE_MINUTE, close_ts - 60, close_ts, keys, c, c + 1, c - 1, c, np.ones(len(c)))


@pytest.fixture
async def feed() -> AsyncIterator[MarketFeed]:
    feed = MarketFeed(history=5, queue_size=8)
    yield feed
    await feed.close()


def market(clock: ManualClock, calendar: NseCalendar, **kw: object) -> SimulatedMarket:
    return SimulatedMarket(clock, calendar=calendar, **kw)  # type: ignore[arg-type]


async def test_subscribers_get_every_bar_set_in_order(feed: MarketFeed, calendar: NseCalendar) -> None:
    clock = ManualClock(START)
    source = market(clock, calendar, seed=1)
    subscription = feed.subscribe(name="test")
    feed.start(source)
    assert feed.state is FeedState.RUNNING and feed.instruments == source.instruments and feed.interval == ONE_MINUTE
    got = []
    for _ in range(3):
        ts = await clock.step()
        bars = await anext(subscription)
        assert bars.close_ts == ts
        got.append(bars)
    assert [b.close_ts for b in got] == [START + 60, START + 120, START + 180]
    assert feed.latest is got[-1] and feed.recent() == got and feed.recent(1) == got[-1:]


async def test_a_slow_subscriber_loses_its_oldest_bars_and_stalls_no_one(
    feed: MarketFeed, calendar: NseCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(START)
    slow = feed.subscribe(maxsize=2, name="slow")
    fast = feed.subscribe(name="fast")
    seen: list[int] = []
    feed.add_listener(lambda bars: seen.append(bars.close_ts))
    feed.start(market(clock, calendar, seed=1))
    with caplog.at_level(logging.WARNING):
        for i in range(1, 6):
            await clock.step()
            assert (await anext(fast)).close_ts == START + 60 * i
    assert seen == [START + 60 * i for i in range(1, 6)]
    assert slow.dropped == 3 and slow.pending() == 2
    assert [(await anext(slow)).close_ts for _ in range(2)] == [START + 240, START + 300]
    assert "slow" in caplog.text and fast.dropped == 0


async def test_a_failing_callback_is_logged_and_the_others_still_run(
    feed: MarketFeed, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(bars: BarSet) -> None:
        raise RuntimeError("boom")

    seen: list[int] = []
    feed.add_listener(broken)
    remove = feed.add_listener(lambda bars: seen.append(bars.close_ts))
    source = ListSource([bar_set(START + 60, [1, 2]), bar_set(START + 120, [1, 3])])
    with caplog.at_level(logging.ERROR):
        feed.start(source)
        assert await feed.join() is FeedState.FINISHED
    assert seen == [START + 60, START + 120] and "boom" in caplog.text
    remove()
    feed.start(ListSource([bar_set(START + 180, [1, 2])]))
    await feed.join()
    assert seen == [START + 60, START + 120]


async def test_history_per_instrument_leaves_out_missing_bars(feed: MarketFeed) -> None:
    source = ListSource([bar_set(START + 60 * i, [100 + i, np.nan if i == 2 else 50 + i]) for i in range(1, 8)])
    feed.start(source)
    await feed.join()
    a = feed.history("A|1")
    assert a["ts"].tolist() == [START + 60 * i - 60 for i in range(3, 8)]  # history=5 BarSets
    assert a["close"].tolist() == [103, 104, 105, 106, 107] and list(a.columns) == [
        "ts",
        "close_ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
    ]
    assert feed.history("B|2", n=5)["close"].tolist() == [53, 54, 55, 56, 57]
    assert feed.history("B|2", n=2)["close_ts"].tolist() == [START + 360, START + 420]
    with pytest.raises(KeyError):
        feed.history("C|3")


async def test_out_of_order_bars_fail_the_source(feed: MarketFeed) -> None:
    source = ListSource([bar_set(START + 120, [1, 2]), bar_set(START + 60, [1, 2])])
    feed.start(source)
    assert await feed.join() is FeedState.FAILED
    assert isinstance(feed.error, BadBars) and "came after" in str(feed.error)
    assert source.closed and feed.latest is not None and feed.latest.close_ts == START + 120


async def test_bars_of_other_instruments_than_the_source_announced_fail(feed: MarketFeed) -> None:
    source = ListSource([bar_set(START + 60, [1, 2]), bar_set(START + 120, [1], keys=("A|1",))])
    feed.start(source)
    assert await feed.join() is FeedState.FAILED and "instruments" in str(feed.error)


async def test_swap_changes_the_universe_and_keeps_subscribers(feed: MarketFeed, calendar: NseCalendar) -> None:
    first = WaitingSource([bar_set(START + 60, [1, 2])])
    subscription = feed.subscribe()
    feed.start(first)
    assert (await anext(subscription)).instruments == ("A|1", "B|2")
    with pytest.raises(FeedStateError, match="running"):
        feed.start(first)
    clock = ManualClock(START)
    second = market(clock, calendar, seed=2, instruments=universe(10))
    await feed.swap(second)
    assert first.closed and feed.source is second and len(feed.instruments) == 10 and feed.latest is None
    await clock.step()
    bars = await anext(subscription)
    assert bars.instruments == second.instruments and feed.recent() == [bars]


async def test_stop_then_start_again_and_close_ends_subscriptions(feed: MarketFeed) -> None:
    source = WaitingSource([bar_set(START + 60, [1, 2])])
    subscription = feed.subscribe()
    feed.start(source)
    await anext(subscription)
    await feed.stop()
    assert feed.state is FeedState.IDLE and source.closed and feed.instruments == source.instruments
    feed.start(WaitingSource([bar_set(START + 120, [3, 4])]))
    assert (await anext(subscription)).close_ts == START + 120

    async def drain() -> list[BarSet]:
        return [bars async for bars in subscription]

    draining = asyncio.create_task(drain())
    await asyncio.sleep(0)
    await feed.close()
    assert await asyncio.wait_for(draining, 5) == []
    assert feed.state is FeedState.CLOSED
    with pytest.raises(FeedStateError):
        feed.subscribe()
    with pytest.raises(FeedStateError):
        feed.start(source)
