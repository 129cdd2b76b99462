"""CandleReplay over a real CandleStore: order, alignment across instruments, bounds, pacing."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.market.bars import BarSet
from app.market.calendar import NseCalendar
from app.market.candles import CandleStore
from app.market.clock import ManualClock
from app.market.errors import BadCandles
from app.market.feed import FeedState, MarketFeed
from app.market.intervals import CANONICAL, Interval
from app.market.replay import CandleReplay, bar_closes
from app.market.simulated import SimulatedMarket
from app.storage.db import Database
from app.storage.migrate import upgrade_async
from tests.market.conftest import ist

ONE_MINUTE = CANONICAL["1m"]
START = ist("2024-01-25 15:20")  # ten bars on Thursday, then Monday (Friday is a holiday)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[CandleStore]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'signaldesk.sqlite3'}"
    await upgrade_async(url)
    db = Database(url)
    yield CandleStore(db)
    await db.close()


def simulated(n: int, calendar: NseCalendar) -> list[BarSet]:
    market = SimulatedMarket(ManualClock(START), seed=4, calendar=calendar)
    return list(itertools.islice(market.bars_from(START), n))


def frame_of(bars: list[BarSet], i: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": np.array([b.open_ts for b in bars], dtype=np.int64),
            **{f: np.array([getattr(b, f)[i] for b in bars]) for f in ("open", "high", "low", "close", "volume")},
        }
    )


async def collect(replay: CandleReplay) -> list[BarSet]:
    return [bars async for bars in replay]


async def test_replay_aligns_instruments_on_bar_time_with_nan_gaps(store: CandleStore, calendar: NseCalendar) -> None:
    bars = simulated(20, calendar)
    a, b = bars[0].instruments[:2]
    await store.upsert(a, "1m", frame_of(bars[:15], 0))  # a: bars 0..14
    await store.upsert(b, "1m", frame_of(bars[2:7] + bars[8:20], 1))  # b: 2..6, 8..19
    got = await collect(CandleReplay(store, [a, b], ONE_MINUTE, calendar=calendar))
    assert [g.open_ts for g in got] == [x.open_ts for x in bars]
    assert [g.close_ts for g in got] == [x.close_ts for x in bars]  # on the grid, across the holiday weekend
    assert got[9].close_ts == ist("2024-01-25 15:30") and got[10].open_ts == ist("2024-01-29 09:15")
    closes = np.vstack([g.close for g in got])
    want = np.vstack([x.close[:2] for x in bars])
    want[15:, 0] = np.nan
    want[[0, 1, 7], 1] = np.nan
    np.testing.assert_array_equal(closes, want)
    np.testing.assert_array_equal(got[3].high, bars[3].high[:2])
    assert all(g.instruments == (a, b) and g.interval == ONE_MINUTE for g in got)


async def test_start_and_end_bound_the_replay(store: CandleStore, calendar: NseCalendar) -> None:
    bars = simulated(12, calendar)
    key = bars[0].instruments[0]
    await store.upsert(key, "1m", frame_of(bars, 0))
    replay = CandleReplay(store, [key], ONE_MINUTE, start=bars[3].open_ts, end=bars[8].open_ts, calendar=calendar)
    assert [g.open_ts for g in await collect(replay)] == [x.open_ts for x in bars[3:9]]


async def test_paced_by_the_clock_each_bar_when_it_closes(store: CandleStore, calendar: NseCalendar) -> None:
    bars = simulated(12, calendar)
    key = bars[0].instruments[0]
    await store.upsert(key, "1m", frame_of(bars, 0))
    clock = ManualClock(bars[0].open_ts)
    feed = MarketFeed()
    subscription = feed.subscribe()
    feed.start(CandleReplay(store, [key], ONE_MINUTE, clock=clock, calendar=calendar))
    for want in bars:
        assert await clock.step() == want.close_ts
        got = await anext(subscription)
        assert (got.close_ts, float(got.close[0])) == (want.close_ts, float(want.close[0]))
    assert await feed.join() is FeedState.FINISHED
    await feed.close()


async def test_as_fast_as_possible_through_the_feed(store: CandleStore, calendar: NseCalendar) -> None:
    bars = simulated(400, calendar)  # over a night: the default clock skips it at infinite speed
    for i, key in enumerate(bars[0].instruments):
        await store.upsert(key, "1m", frame_of(bars, i))
    feed = MarketFeed(history=1000)
    feed.start(CandleReplay(store, bars[0].instruments, ONE_MINUTE, speed=math.inf, calendar=calendar))
    assert await asyncio.wait_for(feed.join(), 30) is FeedState.FINISHED
    assert [b.close_ts for b in feed.recent()] == [b.close_ts for b in bars]
    await feed.close()


async def test_nothing_stored_ends_at_once(store: CandleStore, calendar: NseCalendar) -> None:
    assert await collect(CandleReplay(store, ["NSE_EQ|INE002A01018"], ONE_MINUTE, calendar=calendar)) == []


class UnorderedStore:
    async def read(
        self, instrument_key: str, interval: Interval, start: int | None = None, end: int | None = None
    ) -> pd.DataFrame:
        return pd.DataFrame({"ts": [120, 60], **{f: [1.0, 1.0] for f in ("open", "high", "low", "close", "volume")}})


async def test_candles_out_of_order_fail_fast() -> None:
    with pytest.raises(BadCandles, match="strictly increasing"):
        await collect(CandleReplay(UnorderedStore(), ["X|1"], ONE_MINUTE, speed=math.inf))


def test_bar_closes_cut_at_the_session_close() -> None:
    opens = np.array([ist("2024-01-25 09:15"), ist("2024-01-25 15:25")], dtype=np.int64)
    assert bar_closes(CANONICAL["10m"], opens).tolist() == [ist("2024-01-25 09:25"), ist("2024-01-25 15:30")]
    days = np.array([ist("2024-01-25 00:00"), ist("2024-01-25 09:15")], dtype=np.int64)
    assert bar_closes(CANONICAL["1d"], days).tolist() == [ist("2024-01-25 15:30")] * 2


def test_bad_arguments_fail_at_construction(store: CandleStore) -> None:
    with pytest.raises(ValueError, match="distinct"):
        CandleReplay(store, ["A|1", "A|1"], ONE_MINUTE)
    with pytest.raises(ValueError, match="speed"):
        CandleReplay(store, ["A|1"], ONE_MINUTE, speed=0)
