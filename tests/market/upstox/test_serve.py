"""End to end: a real `signaldesk serve` on `SIGNALDESK_MARKET_SOURCE=upstox`, pointed at the fake
Upstox on loopback. The test drives the market minute by minute (the frames' `currentTs` is the
feed's clock) and watches what a trader's browser would: /api/ws/market, /api/ws/prediction,
/api/ws/hft and GET /api/market: bars on the market stream, predictions created and resolved,
paper entries and exits, a stop gapped through by a trade between two bar closes exited at that
trade's price, a dropped connection followed by reconnect, resubscribe and backfill with no
missing minute, an expired token named in the feed's state (and by the engine), then recovered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from app.predictor.config import DEFAULT_UNIVERSE
from tests.market.upstox.conftest import M, ms
from tests.market.upstox.fake import CandleRow, FakeUpstox, full_frame, market_info_frame
from tests.market.upstox.fixtures import serving_on
from tests.support.server import ServerProcess
from tests.support.ws import FrameLog

KEYS = DEFAULT_UNIVERSE  # the predictor's autostart universe


class Market:
    """A random walk per instrument, sent to the fake as full-mode frames one minute at a time."""

    def __init__(self, fake: FakeUpstox, seed: int = 7) -> None:
        self.fake = fake
        self.rng = np.random.default_rng(seed)
        self.price = {key: 1000.0 + 100 * i for i, key in enumerate(KEYS)}
        self.rows: dict[int, dict[str, CandleRow]] = {}  # minute open -> key -> its candle

    def candle(self, open_ts: int) -> dict[str, CandleRow]:
        if open_ts not in self.rows:
            rows = {}
            for key in KEYS:
                o = self.price[key]
                c = round(o * float(np.exp(self.rng.normal(0, 0.002))), 2)
                rows[key] = (open_ts, o, round(max(o, c) * 1.0005, 2), round(min(o, c) * 0.9995, 2), c, 1000)
                self.price[key] = c
            self.rows[open_ts] = rows
        return self.rows[open_ts]

    async def close_minute(self, open_ts: int) -> None:
        """Frames that close minute `open_ts`: its I1 candle, then the next minute's first, past the grace."""
        closed, forming = self.candle(open_ts), self.candle(open_ts + 60)
        candles = {key: [closed[key], forming[key]] for key in KEYS}
        await self.fake.send(full_frame(ms(open_ts + 61), candles))


@pytest.fixture
async def desk(fake: FakeUpstox, token_file: Path, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    env = {
        "SIGNALDESK_PREDICTOR_AUTOSTART": "true",
        "SIGNALDESK_HFT_AUTOSTART": "true",
        "SIGNALDESK_HFT_MIN_CALIBRATION_N": "0",
        "SIGNALDESK_HFT_MIN_HIT_RATE": "0",
        "SIGNALDESK_HFT_COST_MULTIPLE": "0",
        "SIGNALDESK_HFT_SKILL_GATE": "false",  # a random walk: the gate would keep it out (test_skill_gate.py)
    }
    async with serving_on(fake, token_file, tmp_path / "data", KEYS, env) as server:
        yield server


async def test_serve_on_the_upstox_feed_predicts_paper_trades_exits_at_a_tick_and_survives_drops(
    fake: FakeUpstox, desk: ServerProcess, token_file: Path
) -> None:
    await fake.wait_for(lambda: len(fake.requests) == 1, timeout=20)
    assert fake.requests[0]["method"] == "sub" and fake.requests[0]["data"]["instrumentKeys"] == list(KEYS)
    streams = [await FrameLog(desk.ws(channel)).start() for channel in ("market", "prediction", "hft")]
    market_ws, prediction_ws, hft_ws = streams
    http = httpx.AsyncClient(base_url=desk.http, timeout=5)
    try:
        market = Market(fake)
        await fake.send(market_info_frame(ms(M - 1)))

        def bar_opens() -> list[int]:
            return [f["payload"]["ts"] for f in market_ws.of("market.bars")]

        def cycles() -> list[int]:
            return [f["payload"]["anchor"] for f in prediction_ws.of("predictor.cycle")]

        async def close(open_ts: int) -> None:
            """Close a minute and wait until the dashboard has its bar and the predictor has run on it."""
            await market.close_minute(open_ts)
            await market_ws.until(lambda: open_ts in bar_opens())
            await prediction_ws.until(lambda: open_ts + 60 in cycles())

        # Live minutes until the paper engine has entered and exited (an hour at most): bars
        # reach the dashboard's stream, predictions are made and resolved.
        minute = M
        while not (hft_ws.of("hft.entry") and hft_ws.of("hft.exit")):
            assert minute < M + 3600, (await http.get("/api/hft/status")).text
            await close(minute)
            minute += 60
        assert prediction_ws.of("prediction.created") and prediction_ws.of("prediction.resolved")

        # A trade is open once the engine has taken the last bar; a trade between two bar
        # closes goes through its stop: the engine exits at that trade's price, not at the next bar.
        async def engine_at(close_ts: int) -> dict[str, Any]:
            async def poll() -> dict[str, Any]:
                while (status := (await http.get("/api/hft/status")).json())["last_bar_ts"] != close_ts:
                    await asyncio.sleep(0.02)
                return status

            return await asyncio.wait_for(poll(), 10)

        async def tick_through_a_stop() -> tuple[float, dict[str, Any]]:
            """Wait for an open trade, send a trade gapping through its stop; the price and the exit.
            (The engine's status may show a bar it is still taking: if that bar closes the trade
            first, the exit says so, and the caller tries the next trade.)"""
            nonlocal minute
            while True:
                open_trades = [
                    t
                    for t in (await http.get("/api/hft/trades")).json()["trades"]
                    if t["status"] == "open" and t["exit_by"] > minute
                ]
                if open_trades:
                    break
                assert minute < M + 7200, "no open trade in two hours"
                await close(minute)
                minute += 60
                await engine_at(minute)
            trade = open_trades[0]
            key, long = trade["instrument_key"], trade["qty"] > 0
            price = round(trade["stop"] * (0.995 if long else 1.005), 2)  # a gap through the stop
            forming = (minute, *market.candle(minute)[key][1:4], price, 1000)
            before = bar_opens()
            await fake.send(full_frame(ms(minute + 30), {key: [market.candle(minute - 60)[key], forming]}))

            def exits() -> list[dict[str, Any]]:
                return [e["payload"] for e in hft_ws.of("hft.exit") if e["payload"]["trade_id"] == trade["trade_id"]]

            await hft_ws.until(lambda: bool(exits()))
            assert bar_opens() == before  # no bar closed between the tick and the exit
            return price, exits()[0]

        for _ in range(5):
            price, exit_ = await tick_through_a_stop()
            if exit_["reason"] == "stop" and abs(exit_["price"] - price) <= price * 2e-4 + 0.05:
                break  # the tick's price, moved by the paper slippage
        else:
            raise AssertionError(f"no exit at a tick's price: {exit_}, tick {price}")
        status = (await http.get("/api/hft/status")).json()
        # Paper is the default on live data: neither key of the live gate is turned.
        assert (status["broker"], status["safe_mode"], status["live_trading_enabled"]) == ("paper", True, False)
        bars = market_ws.of("market.bars")
        assert {b["instrument_key"] for b in bars[-1]["payload"]["bars"]} == set(KEYS)
        assert bars[-1]["payload"]["bars"][0]["close"] == market.rows[minute - 60][KEYS[0]][4]

        # The connection drops; three minutes pass unseen, Upstox's intraday API has them.
        missed = [minute, minute + 60, minute + 120]
        fake.candles = {key: [market.candle(m)[key] for m in missed] for key in KEYS}
        fake.drop()
        await fake.wait_for(lambda: len(fake.requests) == 2, timeout=20)
        assert fake.requests[1]["method"] == "sub"
        minute += 180
        await close(minute)  # the first live minute after the reconnect, after the backfilled ones
        opens = bar_opens()
        assert opens == list(range(M, minute + 60, 60)), "a minute went missing or came twice"
        for frame in market_ws.of("market.bars")[-4:-1]:  # the backfilled minutes carry Upstox's candles
            ts = frame["payload"]["ts"]
            assert frame["payload"]["bars"][0]["close"] == market.rows[ts][KEYS[0]][4]

        # The token expires (Upstox refuses it) and the connection drops: the feed's state names
        # it on GET /api/market and /api/ws/market, and the engine, which depends on it, says so.
        fake.tokens = {"renewed-token"}
        fake.drop()

        def statuses() -> list[dict[str, Any]]:
            return [f["payload"] for f in market_ws.of("market.status")]

        await market_ws.until(lambda: statuses()[-1]["status"] == "token_expired")
        assert "token expired" in statuses()[-1]["error"]
        market_now = (await http.get("/api/market")).json()["status"]
        assert market_now["status"] == "token_expired" and "token expired" in market_now["error"]
        await hft_ws.until(lambda: any("token" in e["payload"]["error"] for e in hft_ws.of("hft.error")))
        # A new token in the file is read at the next attempt: subscribed and live again, no minute lost.
        subscribed = len(fake.requests)
        token_file.write_text("renewed-token\n")
        await fake.wait_for(lambda: len(fake.requests) > subscribed, timeout=20)
        minute += 60
        await close(minute)
        assert statuses()[-1]["status"] == "live" and statuses()[-1]["connections"] == 3
        assert bar_opens() == list(range(M, minute + 60, 60))
    finally:
        await http.aclose()
        for stream in streams:
            await stream.close()
