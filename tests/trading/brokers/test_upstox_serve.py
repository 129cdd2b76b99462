"""End to end, live: a real `signaldesk serve` with both keys turned, its market from the fake
Upstox's feed and its orders to the fake's order host, the fills from the fake's portfolio
stream: a prediction -> an entry order placed (API v3) -> the order update (complete) on the
stream -> `hft.entry` at Upstox's fill price, with no order details polled; then an entry
accepted by Upstox and rejected by the exchange: no trade, and an `hft.manage_error` naming it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.market.upstox.conftest import M, ms
from tests.market.upstox.fake import FakeUpstox, full_frame, market_info_frame
from tests.market.upstox.fake_orders import Outcome
from tests.market.upstox.fixtures import serving_on
from tests.support.server import ServerProcess
from tests.support.ws import FrameLog
from tests.trading.live import inject
from tests.trading.stubs import RELIANCE, TCS

KEYS = (RELIANCE, TCS)
PRICE = {RELIANCE: 2900.0, TCS: 3500.0}


@pytest.fixture
async def desk(fake: FakeUpstox, token_file: Path, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    env = {
        "SIGNALDESK_LIVE_TRADING_ENABLED": "true",
        "SIGNALDESK_HFT_COOLDOWN": "0",
        "SIGNALDESK_HFT_SKILL_GATE": "false",  # an injected prediction (the gate: tests/trading/test_skill_gate.py)
    }
    async with serving_on(fake, token_file, tmp_path / "data", KEYS, env) as server:
        yield server


def candle(key: str, open_ts: int) -> tuple[int, float, float, float, float, int]:
    """A minute that moves a little (so the engine has a volatility to size with)."""
    o = PRICE[key] * (1.001 if (open_ts // 60) % 2 else 1.0)
    c = PRICE[key] * (1.0 if (open_ts // 60) % 2 else 1.001)
    return (open_ts, o, max(o, c) * 1.0005, min(o, c) * 0.9995, c, 1000)


async def test_a_live_entry_is_placed_filled_on_the_stream_and_announced(fake: FakeUpstox, desk: ServerProcess) -> None:
    await fake.wait_for(lambda: len(fake.requests) == 1, timeout=20)  # the market feed subscribed
    market, hft = await FrameLog(desk.ws("market")).start(), await FrameLog(desk.ws("hft")).start()
    http = httpx.AsyncClient(base_url=desk.http, timeout=10)
    minute = M
    try:
        started = await http.post("/api/hft/start", json={"broker": "upstox", "safe_mode": False})
        assert started.status_code == 200 and started.json()["venue"] == "upstox", started.text
        await fake.wait_for(lambda: fake.portfolio_open == 1, timeout=10)  # the broker's portfolio stream
        await fake.send(market_info_frame(ms(M - 1)))

        async def close() -> None:
            nonlocal minute
            rows = {key: [candle(key, minute), candle(key, minute + 60)] for key in KEYS}
            await fake.send(full_frame(ms(minute + 61), rows))
            opened = minute
            await market.until(lambda: any(f["payload"]["ts"] == opened for f in market.of("market.bars")))
            minute += 60

        for _ in range(8):  # the engine's prices and volatility
            await close()
        fake.desk.price = 2901.5  # Upstox's fill, not the bar's price
        await asyncio.to_thread(inject, desk, RELIANCE, 0.01, h=30, id=1, ahead=1)
        for _ in range(5):
            await close()
            if hft.of("hft.entry"):
                break
        await hft.until(lambda: bool(hft.of("hft.entry")))

        fake.desk.script(Outcome("reject", message="RMS: Margin Exceeds"))
        await asyncio.to_thread(inject, desk, TCS, 0.01, h=30, id=2, ahead=1)
        for _ in range(5):
            await close()
            if hft.of("hft.manage_error"):
                break
        await hft.until(lambda: bool(hft.of("hft.manage_error")))
    finally:
        await http.aclose()
        await market.close()
        await hft.close()

    (entry,) = [f["payload"] for f in hft.of("hft.entry")]
    placed = fake.placed[0]
    assert (entry["instrument_key"], entry["qty"], entry["entry"]) == (RELIANCE, placed["quantity"], 2901.5)
    assert (placed["transaction_type"], placed["product"], placed["slice"]) == ("BUY", "I", True)
    assert placed["tag"] == "sd-1"  # the engine's first order id
    assert [u["status"] for u in fake.desk.updates] == ["open", "complete", "open", "rejected"]
    assert not [p for _, p, _ in fake.broker_requests if p == "/v2/order/details"]  # the stream told it

    (error,) = [f["payload"]["error"] for f in hft.of("hft.manage_error")]
    rejected = list(fake.desk.orders)[-1]
    assert error.startswith(f"entry order 2 for {TCS} rejected: filled 0 of ")
    assert f"order {rejected} rejected: RMS: Margin Exceeds" in error
    assert len(hft.of("hft.entry")) == 1 and fake.placed[-1]["instrument_token"] == TCS
