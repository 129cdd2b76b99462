"""Stops held at the broker, end to end: real `signaldesk serve` processes (a simulated market,
both keys turned, SIGNALDESK_HFT_BROKER_STOPS=true) whose Upstox is the fake on loopback. A stop
that filled while the server was down is found at start-up (the trade closed with reason `stop`
at that fill, no second exit); on one server, a trailing stop moves the broker's order, a stop
filled while we run closes the trade from the stream's update, and the cancel-then-exit race
(and both filled) never leaves a second sale."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from tests.market.upstox.fake import FakeUpstox
from tests.market.upstox.fixtures import serving_on
from tests.support.server import ServerProcess
from tests.support.waits import polled
from tests.support.ws import FrameLog
from tests.trading.live import inject, post
from tests.trading.stubs import RELIANCE

MODIFY = ("PUT", "/v3/order/modify")


def env(**more: str) -> dict[str, str]:
    """A simulated market (RELIANCE about the fake's 2900) traded live at the fake, stops held there."""
    return {
        "SIGNALDESK_MARKET_SOURCE": "simulated",
        "SIGNALDESK_MARKET_INSTRUMENTS": "",
        "SIGNALDESK_MARKET_SPEED": "300",
        "SIGNALDESK_MARKET_SEED": "7",
        "SIGNALDESK_MARKET_ANCHOR": str(time.time()),  # a restarted server sees the same market
        "SIGNALDESK_LIVE_TRADING_ENABLED": "true",
        "SIGNALDESK_HFT_BROKER_STOPS": "true",
        "SIGNALDESK_HFT_SKILL_GATE": "false",  # injected predictions trade at once (the gate: test_skill_gate.py)
        "SIGNALDESK_HFT_COOLDOWN": "0",
        "SIGNALDESK_HFT_RECONCILE_INTERVAL": "0",
        "SIGNALDESK_HFT_STOP_VOL": "20",  # wide: the engine's own stop and target stay out of the way
        # so wide a stop sizes an entry at 1000 rupees of risk to under a share when the market's
        # volatility at that bar runs high (the bar depends on how fast the server started)
        "SIGNALDESK_HFT_RISK_PER_TRADE": "20000",
        "SIGNALDESK_HFT_MAX_DAILY_LOSS": "1000000",  # and the stops these tests fill halt nothing
        "SIGNALDESK_HFT_TARGET_VOL": "100",
        "SIGNALDESK_HFT_TRAIL_VOL": "0",
        **more,
    }


class Desk:
    """One server's hft stream and HTTP API, driven from the fake's event loop (blocking calls in a thread)."""

    def __init__(self, server: ServerProcess, fake: FakeUpstox) -> None:
        self.server, self.fake = server, fake
        self.hft = FrameLog(server.ws("hft"))
        self.http = httpx.AsyncClient(base_url=server.http, timeout=10)

    async def start_live(self) -> None:
        await self.hft.start()
        started = await asyncio.to_thread(post, self.server, "start", {"broker": "upstox", "safe_mode": False})
        assert started.status_code == 200 and started.json()["venue"] == "upstox", started.text

    async def enter(self, id: int) -> tuple[int, dict[str, Any]]:
        """A long RELIANCE trade from a prediction: its id and the SL-M resting at the fake for it."""
        entries = len(self.hft.of("hft.entry"))
        # 15 bars ahead (3 s at 300x): acted on even when the request is slow on a loaded machine
        await asyncio.to_thread(inject, self.server, RELIANCE, 0.01, h=120, id=id, ahead=15)
        await self.hft.until(lambda: len(self.hft.of("hft.entry")) > entries)
        trade_id = self.hft.of("hft.entry")[-1]["payload"]["trade_id"]
        await polled(lambda: len(self.fake.desk.stops()) == 1, 10)
        return trade_id, self.fake.desk.stops()[0]

    async def trade(self, trade_id: int) -> dict[str, Any]:
        trades = (await self.http.get("/api/hft/trades")).json()["trades"]
        return next(t for t in trades if t["trade_id"] == trade_id)

    async def closed(self, trade_id: int, timeout: float = 20.0) -> dict[str, Any]:
        async def wait() -> dict[str, Any]:
            while (trade := await self.trade(trade_id))["status"] != "closed":
                await asyncio.sleep(0.05)
            return trade

        return await asyncio.wait_for(wait(), timeout)

    async def manage_errors(self) -> list[str]:
        events = (await self.http.get("/api/events", params={"channel": "hft", "limit": 1000})).json()["events"]
        return [e["payload"]["error"] for e in events if e["type"] == "hft.manage_error"]

    async def close(self) -> None:
        await self.hft.close()
        await self.http.aclose()


@contextlib.asynccontextmanager
async def serving(fake: FakeUpstox, token_file: Path, data_dir: Path, **more: str) -> AsyncIterator[Desk]:
    async with serving_on(fake, token_file, data_dir, (), env(**more)) as server:
        desk = Desk(server, fake)
        try:
            yield desk
        finally:
            await desk.close()


def orders(fake: FakeUpstox) -> list[tuple[str, str]]:
    return [(o["order_type"], o["transaction_type"]) for o in fake.placed]


async def test_a_broker_stop_filled_while_the_server_was_down_closes_the_trade_at_start_up(
    fake: FakeUpstox, token_file: Path, tmp_path: Path
) -> None:
    async with serving(fake, token_file, tmp_path / "data") as desk:
        await desk.start_live()
        trade_id, stop = await desk.enter(1)
        await desk.hft.close()
        await asyncio.to_thread(desk.server.stop)  # the run stays on: a restart resumes it

        fill = round(stop["trigger_price"] - 0.5, 2)  # the market fell through the stop meanwhile
        assert fake.desk.trigger_stops(fill) == [stop["order_id"]] and RELIANCE not in fake.account.positions()
        await asyncio.to_thread(desk.server.start)

        trade = await desk.closed(trade_id)  # reconciled at the first bar
        assert (trade["reason"], trade["exit"]) == ("stop", fill)
        assert orders(fake) == [("MARKET", "BUY"), ("SL-M", "SELL")]  # no second exit
        assert RELIANCE not in fake.account.positions()
        (error,) = await desk.manage_errors()
        assert (
            f"({stop['order_id']}) of trade {trade_id}" in error and f"at {fill:.2f} while it was not followed" in error
        )
        status = (await desk.http.get("/api/hft/status")).json()
        assert (status["state"], status["venue"]) == ("running", "upstox")


async def test_a_trailing_stop_moves_the_broker_s_order_fills_from_the_stream_and_the_race_never_sells_twice(
    fake: FakeUpstox, token_file: Path, tmp_path: Path
) -> None:
    async with serving(fake, token_file, tmp_path / "data", SIGNALDESK_HFT_TRAIL_VOL="0.3") as desk:
        await desk.start_live()
        first, stop = await desk.enter(1)

        # The first close after the entry trails the stop: the broker's order moves with it.
        def stops() -> list[float]:
            risk = [f["payload"] for f in desk.hft.of("hft.trade_risk")]
            return [r["stop"] for r in risk if r["trade_id"] == first]

        (placed,) = [o for o in fake.placed if o["order_type"] == "SL-M"]
        assert placed["trigger_price"] == stops()[0]  # placed at the engine's stop (`stop` may have moved since)
        await polled(lambda: any(r[:2] == MODIFY for r in fake.broker_requests), 20)
        await desk.hft.until(lambda: len(stops()) > 1)  # the modify goes out before the trail is announced
        (modify, *_) = [body for method, path, body in fake.broker_requests if (method, path) == MODIFY]
        assert modify is not None and modify["order_id"] == stop["order_id"] and modify["order_type"] == "SL-M"
        assert modify["trigger_price"] == stops()[1] > stops()[0]  # moved to the trailed stop, tighter

        # The market goes through it: the stream tells the server, which closes the trade there.
        fill = round(fake.desk.orders[stop["order_id"]]["trigger_price"] - 0.5, 2)
        assert fake.desk.trigger_stops(fill) == [stop["order_id"]]
        trade = await desk.closed(first)
        assert (trade["reason"], trade["exit"]) == ("stop", fill)

        second, stop = await desk.enter(2)
        fake.desk.late_cancels = True  # the exchange fills the stop while its cancel is in flight
        flattened = await asyncio.to_thread(post, desk.server, "flatten")
        assert flattened.json() == {"closed": 1, "errors": []}
        trade = await desk.closed(second)
        assert (trade["reason"], trade["exit"]) == ("stop", fake.desk.orders[stop["order_id"]]["trigger_price"])

        # Two entries, two stops, not one exit order of the engine's: the stops sold both.
        assert orders(fake) == [("MARKET", "BUY"), ("SL-M", "SELL")] * 2
        assert RELIANCE not in fake.account.positions()
        errors = await desk.manage_errors()
        assert any(f"({stop['order_id']}) of trade {second}" in e and "before its cancel" in e for e in errors)

        # Both filled: the stop's cancel was confirmed and the exit sold, then the stop fills too.
        fake.desk.late_cancels = False
        third, stop = await desk.enter(3)
        assert (await asyncio.to_thread(post, desk.server, "flatten")).json() == {"closed": 1, "errors": []}
        assert (await desk.trade(third))["reason"] == "flatten"
        fake.desk.complete(stop["order_id"], 2880.0)  # the exchange says it filled after all
        await polled(lambda: orders(fake)[-1] == ("MARKET", "BUY"), 10)  # the surplus bought back
        said = (
            f"({stop['order_id']}) of trade {third} ({RELIANCE}) filled {stop['quantity']} at 2880.00 after its cancel"
        )

        def both_filled() -> bool:
            errors = [f["payload"]["error"] for f in desk.hft.of("hft.manage_error")]
            return any(said in e and f"both filled; squared off -{stop['quantity']} at" in e for e in errors)

        await desk.hft.until(both_filled)
        assert RELIANCE not in fake.account.positions()
