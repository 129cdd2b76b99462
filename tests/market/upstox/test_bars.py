"""Bars from the feed: the subscribe request, full mode's closed I1 candles, ltpc mode's trades."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

from app.market.calendar import NseCalendar
from app.market.feed import FeedState, MarketFeed
from app.market.upstox.state import FeedStatus
from tests.market.upstox.conftest import A, B, M, make_source, ms
from tests.market.upstox.fake import FakeUpstox, full_frame, ltpc_frame

OTHER = "NSE_EQ|INE009A01021"  # not subscribed: ignored


async def test_subscribe_is_one_binary_json_frame(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    consume(make_source(fake, token_file, calendar, upstox_feed_mode="ltpc"))
    await fake.wait_for(lambda: len(fake.requests) == 1)
    assert fake.binary == [True]
    request = fake.requests[0]
    assert set(request) == {"guid", "method", "data"} and request["guid"]
    assert request["method"] == "sub"
    assert request["data"] == {"mode": "ltpc", "instrumentKeys": [A, B]}
    assert fake.authorize_tokens == ["good-token"]


async def test_full_mode_bars_come_from_the_closed_i1_candle(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    consumer = consume(make_source(fake, token_file, calendar))
    await fake.wait_for(lambda: len(fake.requests) == 1)
    # Minute M forming for A and B; then, in minute M+1, each instrument's closed M candle
    # arrives with a different close (within the 1 s grace), and the clock passes the grace.
    await fake.send(full_frame(ms(M + 10), {A: [(M, 100, 101, 99, 100.5, 10)], B: [(M, 50, 50, 50, 50, 1)]}))
    await consumer.state(lambda s: s.status is FeedStatus.LIVE)
    await fake.send(
        full_frame(ms(M + 60.3), {A: [(M, 100, 102, 99, 101.5, 40), (M + 60, 101.5, 101.5, 101.5, 101.5, 2)]})
    )
    await fake.send(full_frame(ms(M + 60.6), {B: [(M, 50, 51, 49, 50.5, 30)]}))
    await fake.send(full_frame(ms(M + 61.5), {OTHER: [(M, 1, 1, 1, 1, 1)]}))
    bars = await consumer.next()
    assert (bars.open_ts, bars.close_ts, bars.interval.name) == (M, M + 60, "1m")
    assert bars.instruments == (A, B)
    assert bars.open.tolist() == [100, 50] and bars.high.tolist() == [102, 51] and bars.low.tolist() == [99, 49]
    assert bars.close.tolist() == [101.5, 50.5] and bars.volume.tolist() == [40, 30]

    # Minute M+1: only A trades (B's list had no current candle), so B's close is NaN;
    # it is handed on once the clock passes M+121.
    await fake.send(
        full_frame(ms(M + 120.5), {A: [(M + 60, 101.5, 103, 101, 102, 7), (M + 120, 102, 102, 102, 102, 1)]})
    )
    await fake.send(full_frame(ms(M + 121.2), {A: [(M + 120, 102, 102.5, 102, 102.5, 3)]}))
    bars = await consumer.next()
    assert bars.open_ts == M + 60
    assert bars.close[0] == 102 and bars.volume[0] == 7 and math.isnan(bars.close[1])
    assert consumer.source.state.last_bar_close == M + 120


async def test_ltpc_mode_bars_are_aggregated_trades(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    fake.candles = {A: [(M, 99.2, 99.6, 99.0, 99.5, 30)]}  # Upstox's whole candle of minute M
    consumer = consume(make_source(fake, token_file, calendar, upstox_feed_mode="ltpc"))
    await fake.wait_for(lambda: len(fake.requests) == 1)
    # The initial feed repeats each instrument's last trade (long before): not a trade of now.
    await fake.send(ltpc_frame(ms(M + 5), {A: (99.0, ms(M - 300), 5), B: (49.0, ms(M - 200), 5)}, initial=True))
    await fake.send(ltpc_frame(ms(M + 30), {A: (99.5, ms(M + 29), 3)}))  # minute M: seen from its middle only
    trades = [(M + 61, 100.0, 10), (M + 70, 101.0, 5), (M + 80, 99.0, 2), (M + 119, 100.5, 4)]
    for ltt, ltp, ltq in trades:
        await fake.send(ltpc_frame(ms(ltt + 0.1), {A: (ltp, ms(ltt), ltq)}))
    await fake.send(ltpc_frame(ms(M + 119.5), {A: (100.5, ms(M + 119), 4)}))  # the same trade again: not counted
    await fake.send(ltpc_frame(ms(M + 120.2), {B: (50.0, ms(M + 120.1), 1)}))
    await fake.send(ltpc_frame(ms(M + 121.5), {OTHER: (1.0, ms(M + 121.4), 1)}))
    # Minute M was seen from its middle: it comes from the intraday API (the first connection
    # fills the day's minutes before its first whole one), not from the partial trades.
    fetched = await consumer.next()
    assert (fetched.open_ts, fetched.close[0], fetched.volume[0]) == (M, 99.5, 30)
    bars = await consumer.next()
    assert (bars.open_ts, bars.close_ts) == (M + 60, M + 120)
    assert (bars.open[0], bars.high[0], bars.low[0], bars.close[0], bars.volume[0]) == (100, 101, 99, 100.5, 21)
    assert math.isnan(bars.close[1])
    assert fake.requests[0]["data"]["mode"] == "ltpc"


async def test_the_market_feed_runs_the_source_and_stops_it(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar
) -> None:
    feed = MarketFeed()
    subscription = feed.subscribe(name="test")
    source = make_source(fake, token_file, calendar)
    feed.start(source)
    await fake.wait_for(lambda: len(fake.requests) == 1)
    for m in range(3):
        rows = {A: [(M + m * 60, 100 + m, 101 + m, 99 + m, 100.5 + m, 10)], B: [(M + m * 60, 50, 50, 50, 50, 1)]}
        await fake.send(full_frame(ms(M + m * 60 + 30), rows))
    await fake.send(full_frame(ms(M + 181.5), {A: [(M + 180, 103, 103, 103, 103, 1)]}))
    got = [await asyncio.wait_for(anext(subscription), 5) for _ in range(3)]
    assert [b.close_ts for b in got] == [M + 60, M + 120, M + 180] and feed.state is FeedState.RUNNING
    assert feed.history(A)["close"].tolist() == [100.5, 101.5, 102.5]
    await asyncio.wait_for(feed.close(), 5)
    await fake.wait_for(lambda: fake.connections[-1].close_code is not None)
