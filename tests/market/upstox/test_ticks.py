"""Ticks from Upstox's feed as price updates for the trading engine: the fake Upstox, a real
UpstoxBarSource in a MarketFeed, the trading service (real bus, journal, paper broker) of the
trading tests' rig. A stop or target is acted on at the tick that reaches it, between two bar
closes, at the tick's price (with the paper broker's slippage)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from app.market.calendar import NseCalendar
from app.market.feed import MarketFeed
from app.market.ticks import LastTrades
from app.market.upstox.connection import Mode
from tests.market.upstox.conftest import A, B, M, make_source, ms
from tests.market.upstox.fake import FakeUpstox, full_frame, ltpc_frame
from tests.trading.rig import Rig, make_rig
from tests.trading.stubs import INFY, KEYS, RELIANCE, TCS

PRICES = {RELIANCE: 100.0, TCS: 50.0, INFY: 200.0}
SLIPPAGE_BPS = 10.0


class Market:
    """Drives the fake Upstox's clock: a bar is a frame in the middle of its minute and one past
    its end (+ the 1 s grace); a tick is a frame of one last trade per instrument."""

    def __init__(self, fake: FakeUpstox, rig: Rig, mode: Mode) -> None:
        self.fake, self.rig, self.mode = fake, rig, mode
        self.ticks: list[dict[str, tuple[float, int]]] = []  # what the feed handed its tick listeners
        self._ticked = asyncio.Event()
        rig.feed.add_tick_listener(self._seen)

    def _seen(self, trades: LastTrades) -> None:
        self.ticks.append({key: (t.ltp, t.ltt) for key, t in trades.items()})
        self._ticked.set()

    async def start(self) -> None:
        await self.fake.wait_for(lambda: len(self.fake.requests) == 1)
        await self.fake.send(self._frame(M - 1, {}))  # the clock stands in the minute before M: M is whole

    def _frame(self, now: float, trades: dict[str, float]) -> bytes:
        """Trades at `now - 0.5` (ltpc), or the forming candle with its LTP at `now` (full)."""
        if self.mode == "ltpc":
            return ltpc_frame(ms(now), {k: (p, ms(now - 0.5), 10) for k, p in trades.items()})
        open_ts = int(now // 60 * 60)
        return full_frame(ms(now), {k: [(open_ts, p, p, p, p, 10)] for k, p in trades.items()})

    async def bar(self, prices: dict[str, float]) -> None:
        m = self.rig.now
        await self.fake.send(self._frame(m + 30, prices))
        await self.fake.send(self._frame(m + 61.5, {}))
        self.rig.now += 60
        await self.rig.settled(m)

    async def warm(self) -> None:
        for k in range(6):
            await self.bar({key: p * (1.001 if k % 2 else 1.0) for key, p in PRICES.items()})

    async def tick(self, at: float, trades: dict[str, float]) -> None:
        """One frame whose last trades are `trades` at `at` (epoch s); waits until the feed handed it on."""
        seen = len(self.ticks)
        await self.fake.send(self._frame(at, trades))

        async def handed_on() -> None:
            while len(self.ticks) == seen:
                self._ticked.clear()
                await self._ticked.wait()

        await asyncio.wait_for(handed_on(), 5)


Open = Callable[[Mode], Awaitable[tuple[Rig, Market]]]


@pytest.fixture
async def open_desk(tmp_path: Path, fake: FakeUpstox, token_file: Path, calendar: NseCalendar) -> AsyncIterator[Open]:
    """Opens the rig on a feed of Upstox's (`mode`), its trading run started, the clock at M."""
    rigs: list[Rig] = []

    async def open(mode: Mode) -> tuple[Rig, Market]:
        source = make_source(fake, token_file, calendar, market_instruments=",".join(KEYS), upstox_feed_mode=mode)
        rigs.append(await make_rig(tmp_path, source=source, hft_slippage_bps=SLIPPAGE_BPS))
        rig = rigs[-1]
        rig.now = M
        await rig.service.start()
        market = Market(fake, rig, mode)
        await market.start()
        return rig, market

    yield open
    for rig in rigs:
        await rig.close()


async def long_reliance(rig: Rig, market: Market) -> dict[str, Any]:
    """Warm up, then a long RELIANCE entered at the next bar's open (100, filled 100.10); its risk."""
    await market.warm()
    await rig.predict(RELIANCE, 0.01)
    await market.bar(PRICES)
    assert [e["entry"] for e in rig.watch.of("hft.entry")] == [100.10]
    risk = rig.watch.of("hft.trade_risk")[-1]
    assert (risk["stop"], risk["target"]) == (99.75, 100.55)
    return risk


async def exit_orders(rig: Rig) -> list[dict[str, Any]]:
    return [o for o in await rig.service.store.orders() if o["purpose"] == "exit"]


@pytest.mark.parametrize("mode", ["full", "ltpc"])
async def test_a_tick_beyond_the_stop_exits_at_the_ticks_price_before_the_next_bar(open_desk: Open, mode: Mode) -> None:
    rig, market = await open_desk(mode)
    await long_reliance(rig, market)
    engine = rig.service.engine
    assert engine is not None
    entered_bar = engine.last_bar
    # 15 s into the next bar RELIANCE trades at 99.40, through the stop at 99.75 (a gap): the
    # exit sells at 99.40 less 10 bps, on the tick below (99.30), not at the stop.
    await market.tick(rig.now + 15, {RELIANCE: 99.40})
    await rig.watch.wait(lambda: bool(rig.watch.of("hft.exit")))
    exit = rig.watch.of("hft.exit")[0]
    assert (exit["reason"], exit["price"]) == ("stop", 99.30)
    assert engine.last_bar == entered_bar  # no bar since the entry's
    [order] = await exit_orders(rig)
    assert (order["reason"], order["price"], order["fill_price"], order["side"]) == ("stop", 99.40, 99.30, "sell")
    [trade] = await rig.service.store.trades()
    assert (trade.status, trade.exit_reason, trade.exit_ts) == ("closed", "stop", rig.now)  # drawn in the forming bar


async def test_a_tick_beyond_the_target_exits_there_and_other_instruments_ticks_do_nothing(open_desk: Open) -> None:
    rig, market = await open_desk("full")
    # Before any trade, ticks far away from every price do nothing.
    await market.tick(rig.now + 1, {RELIANCE: 1.0, TCS: 1.0})
    await market.warm()
    await rig.predict(RELIANCE, 0.01)
    await market.bar(PRICES)
    assert rig.watch.of("hft.trade_risk")[-1]["target"] == 100.55
    # TCS and INFY have no trade: their ticks through any level do nothing; RELIANCE trades
    # above its target at 100.80 and sells there less 10 bps (100.6992 -> 100.65).
    await market.tick(rig.now + 5, {TCS: 1.0, INFY: 10_000.0})
    await market.tick(rig.now + 6, {RELIANCE: 100.50, TCS: 99.0})  # below the target: held
    await market.tick(rig.now + 7, {RELIANCE: 100.80, INFY: 1.0})
    await rig.watch.wait(lambda: bool(rig.watch.of("hft.exit")))
    assert [(e["instrument_key"], e["reason"], e["price"]) for e in rig.watch.of("hft.exit")] == [
        (RELIANCE, "target", 100.65)
    ]
    assert [(o["instrument_key"], o["price"]) for o in await exit_orders(rig)] == [(RELIANCE, 100.80)]
    assert len(rig.watch.of("hft.entry")) == 1 and market.ticks[0] == {
        RELIANCE: (1.0, ms(M + 1)),
        TCS: (1.0, ms(M + 1)),
    }


async def test_ticks_while_the_engine_is_busy_are_conflated_to_the_latest(open_desk: Open) -> None:
    rig, market = await open_desk("full")
    await long_reliance(rig, market)
    engine = rig.service.engine
    assert engine is not None
    async with engine._lock:  # the engine busy (as during a bar): the feed goes on, undelayed
        assert engine.busy
        await market.tick(rig.now + 10, {RELIANCE: 99.70})  # through the stop
        await market.tick(rig.now + 11, {RELIANCE: 99.50})
        await market.tick(rig.now + 12, {RELIANCE: 99.60})  # the latest
        assert rig.watch.of("hft.exit") == []
    await rig.watch.wait(lambda: bool(rig.watch.of("hft.exit")))
    [order] = await exit_orders(rig)
    assert (order["reason"], order["price"], order["fill_price"]) == ("stop", 99.60, 99.50)
    assert [e["price"] for e in rig.watch.of("hft.exit")] == [99.50]


@pytest.mark.parametrize("mode", ["full", "ltpc"])
async def test_the_feed_hands_on_each_messages_last_trades_and_a_failing_listener_is_only_logged(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, mode: Mode, caplog: pytest.LogCaptureFixture
) -> None:
    feed = MarketFeed()
    got: list[dict[str, tuple[float, int]]] = []
    arrived = asyncio.Event()

    def broken(trades: LastTrades) -> None:
        raise RuntimeError("a broken listener")

    def keep(trades: LastTrades) -> None:
        got.append({key: (t.ltp, t.ltt) for key, t in trades.items()})
        arrived.set()

    feed.add_tick_listener(broken)
    feed.add_tick_listener(keep)
    source = make_source(fake, token_file, calendar, upstox_feed_mode=mode)
    feed.start(source)
    try:
        await fake.wait_for(lambda: len(fake.requests) == 1)
        if mode == "full":
            rows = {
                A: [(M, 100, 101, 99, 100.5, 10)],
                B: [(M, 50, 50, 50, 50.25, 1)],
                "NSE_EQ|OTHER": [(M, 1, 1, 1, 1, 1)],
            }
            await fake.send(full_frame(ms(M + 10), rows))
        else:
            trades = {A: (100.5, ms(M + 9), 3), B: (50.25, ms(M + 9.5), 1), "NSE_EQ|OTHER": (1.0, ms(M + 9), 1)}
            await fake.send(ltpc_frame(ms(M + 10), trades))
        await asyncio.wait_for(arrived.wait(), 5)
        ltt = {A: ms(M + 10), B: ms(M + 10)} if mode == "full" else {A: ms(M + 9), B: ms(M + 9.5)}
        assert got == [{A: (100.5, ltt[A]), B: (50.25, ltt[B])}]  # the other key is not subscribed: not handed on
        assert "market tick listener" in caplog.text and "a broken listener" in caplog.text
    finally:
        await asyncio.wait_for(feed.close(), 5)
    assert not source._tick_listeners  # the feed let go of the source
