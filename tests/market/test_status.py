"""MarketStatusTracker: one MarketStatus per actual change, for every kind of source."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from app.events import MarketStatus
from app.market.bars import BarSet
from app.market.calendar import NseCalendar
from app.market.candles import CandleStore
from app.market.clock import ManualClock
from app.market.feed import FeedState, MarketFeed
from app.market.intervals import CANONICAL
from app.market.replay import CandleReplay
from app.market.simulated import SimulatedMarket
from app.market.status import MarketStatusTracker
from app.market.upstox.state import FeedStatus
from app.storage.db import Database
from app.storage.migrate import upgrade_async
from tests.market.conftest import ist
from tests.market.upstox.conftest import M, make_source, ms
from tests.market.upstox.fake import FakeUpstox, full_frame, market_info_frame

START = ist("2024-01-25 15:20")


class Seen:
    """A tracker listener that keeps every status and wakes waiters."""

    def __init__(self, tracker: MarketStatusTracker) -> None:
        self.statuses: list[MarketStatus] = []
        self._changed = asyncio.Event()
        tracker.add_listener(self._on_status)

    def _on_status(self, status: MarketStatus) -> None:
        self.statuses.append(status)
        self._changed.set()

    async def until(self, predicate: Any, timeout: float = 5.0) -> MarketStatus:
        async def wait() -> MarketStatus:
            while True:
                for status in self.statuses:
                    if predicate(status):
                        return status
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def feed() -> AsyncIterator[MarketFeed]:
    market = MarketFeed()
    yield market
    await market.close()


async def test_a_simulated_market_is_live_while_it_runs_and_off_once_stopped(
    feed: MarketFeed, calendar: NseCalendar
) -> None:
    tracker = MarketStatusTracker(feed, wall=lambda: 1_700_000_000.0)
    assert (tracker.current.source, tracker.current.status) == ("off", "off")
    seen = Seen(tracker)
    clock = ManualClock(START)
    subscription = feed.subscribe(name="test")
    feed.start(SimulatedMarket(clock, seed=1, calendar=calendar))
    assert [(s.source, s.status, s.error) for s in seen.statuses] == [("simulated", "live", None)]
    assert seen.statuses[0].since == 1_700_000_000
    for _ in range(3):
        await clock.step()
        await asyncio.wait_for(anext(subscription), 5)
    assert len(seen.statuses) == 1  # new bars alone are no change
    assert tracker.current.last_bar_close == START + 180
    await feed.stop()
    assert [s.status for s in seen.statuses] == ["live", "off"]


async def test_a_replay_says_replay_then_finished(tmp_path: Path, feed: MarketFeed, calendar: NseCalendar) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'signaldesk.sqlite3'}"
    await upgrade_async(url)
    db = Database(url)
    try:
        bars = list(
            itertools.islice(SimulatedMarket(ManualClock(START), seed=4, calendar=calendar).bars_from(START), 3)
        )
        key = bars[0].instruments[0]
        await CandleStore(db).upsert(key, "1m", one_instrument(bars))
        tracker = MarketStatusTracker(feed)
        seen = Seen(tracker)
        feed.start(CandleReplay(CandleStore(db), [key], CANONICAL["1m"], calendar=calendar))
        assert await feed.join() is FeedState.FINISHED
        assert [(s.source, s.status) for s in seen.statuses] == [("replay", "replay"), ("replay", "finished")]
        assert seen.statuses[-1].last_bar_close == bars[-1].close_ts
    finally:
        await db.close()


def one_instrument(bars: list[BarSet]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": np.array([b.open_ts for b in bars], dtype=np.int64),
            **{f: np.array([getattr(b, f)[0] for b in bars]) for f in ("open", "high", "low", "close", "volume")},
        }
    )


async def test_an_upstox_source_passes_on_its_own_state_once_per_change(
    feed: MarketFeed, tmp_path: Path, calendar: NseCalendar
) -> None:
    fake = await FakeUpstox(tokens=["good-token"]).start()
    try:
        token_file = tmp_path / "upstox-token"
        token_file.write_text("good-token\n")
        tracker = MarketStatusTracker(feed)
        seen = Seen(tracker)
        source = make_source(fake, token_file, calendar)
        feed.start(source)
        await fake.wait_for(lambda: len(fake.requests) == 1)
        await fake.send(market_info_frame(ms(M + 1), "NORMAL_OPEN"))
        live = await seen.until(lambda s: s.status == "live")
        assert (live.source, live.segment, live.connections, live.error) == ("upstox", "NORMAL_OPEN", 1, None)
        count = len(seen.statuses)
        await fake.send(full_frame(ms(M + 62), {"NSE_EQ|INE002A01018": [(M, 10.0, 11.0, 9.0, 10.5, 5)]}))
        await asyncio.wait_for(source.wait_state(lambda s: s.last_bar_close == M + 60), 5)
        assert len(seen.statuses) == count and tracker.current.last_bar_close == M + 60  # a bar is no change
        token_file.write_text("expired-token\n")
        fake.drop()
        expired = await seen.until(lambda s: s.status == "token_expired")
        assert expired.error is not None and "Invalid token used to access API" in expired.error
        await fake.wait_for(lambda: fake.authorize_tokens.count("expired-token") >= 3)  # retried...
        assert [s.status for s in seen.statuses].count("token_expired") == 1  # ...announced once
        await asyncio.wait_for(source.wait_state(lambda s: s.status is FeedStatus.TOKEN_EXPIRED), 1)
    finally:
        await feed.stop()
        await fake.stop()


class BrokenMarket(SimulatedMarket):
    """A simulated market whose bars fail at once (a source that raises)."""

    async def __aiter__(self) -> AsyncIterator[BarSet]:  # type: ignore[override]
        raise RuntimeError("no bars today")
        yield  # an async generator


async def test_a_source_that_raises_is_failed_with_its_error_since_then(
    feed: MarketFeed, calendar: NseCalendar
) -> None:
    now = [1_700_000_000.0]
    tracker = MarketStatusTracker(feed, wall=lambda: now[0])
    seen = Seen(tracker)
    now[0] += 5
    feed.start(BrokenMarket(ManualClock(START), seed=1, calendar=calendar))
    now[0] += 5
    assert await feed.join() is FeedState.FAILED
    assert [(s.status, s.error, s.since) for s in seen.statuses] == [
        ("live", None, 1_700_000_005),
        ("failed", "RuntimeError: no bars today", 1_700_000_010),
    ]
