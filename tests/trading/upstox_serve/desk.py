"""A live desk on the fake Upstox, as the serve-level tests drive it: a real `signaldesk serve`
with both keys turned, its market from the fake's feed (closed minute by minute by the test), its
orders to the fake's order host and its fills from the fake's portfolio stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.market.upstox.conftest import M, ms
from tests.market.upstox.fake import FakeUpstox, full_frame, market_info_frame
from tests.market.upstox.fixtures import serving_on
from tests.support.server import ServerProcess
from tests.support.ws import FrameLog
from tests.trading.live import inject
from tests.trading.stubs import RELIANCE, TCS

KEYS = (RELIANCE, TCS)
PRICE = {RELIANCE: 2900.0, TCS: 3500.0}
LIVE = {  # injected predictions trade: the skill gate off (its own tests: tests/trading/test_skill_gate.py)
    "SIGNALDESK_LIVE_TRADING_ENABLED": "true",
    "SIGNALDESK_HFT_COOLDOWN": "0",
    "SIGNALDESK_HFT_SKILL_GATE": "false",
}


def candle(key: str, open_ts: int) -> tuple[int, float, float, float, float, int]:
    """A minute that moves a little (so the engine has a volatility to size with)."""
    o = PRICE[key] * (1.001 if (open_ts // 60) % 2 else 1.0)
    c = PRICE[key] * (1.0 if (open_ts // 60) % 2 else 1.001)
    return (open_ts, o, max(o, c) * 1.0005, min(o, c) * 0.9995, c, 1000)


class LiveDesk:
    """The server, its market and hft streams, and the market's clock."""

    def __init__(self, fake: FakeUpstox, server: ServerProcess, market: FrameLog, hft: FrameLog) -> None:
        self.fake, self.server, self.market, self.hft = fake, server, market, hft
        self.http = httpx.AsyncClient(base_url=server.http, timeout=10)
        self.minute = M
        self.prediction_id = 0

    async def close(self) -> None:
        """Close the current minute (every key) and wait until the market stream has its bar."""
        rows = {key: [candle(key, self.minute), candle(key, self.minute + 60)] for key in KEYS}
        await self.fake.send(full_frame(ms(self.minute + 61), rows))
        opened = self.minute
        await self.market.until(lambda: any(f["payload"]["ts"] == opened for f in self.market.of("market.bars")))
        self.minute += 60

    async def start_live(self, warm_up: int = 8) -> None:
        """Start the engine on Upstox with safe mode off, once its portfolio stream is up, and
        close `warm_up` minutes (the engine's prices and volatility)."""
        await self.fake.wait_for(lambda: len(self.fake.requests) == 1, timeout=20)  # the feed subscribed
        started = await self.http.post("/api/hft/start", json={"broker": "upstox", "safe_mode": False})
        assert started.status_code == 200 and started.json()["venue"] == "upstox", started.text
        await self.fake.wait_for(lambda: self.fake.portfolio_open == 1, timeout=10)
        await self.fake.send(market_info_frame(ms(M - 1)))
        for _ in range(warm_up):
            await self.close()

    async def predict(self, key: str, adj: float = 0.01) -> None:
        """A well-calibrated prediction for `key`, acted on at the next bar."""
        self.prediction_id += 1
        await asyncio.to_thread(inject, self.server, key, adj, h=30, id=self.prediction_id, ahead=1)

    async def until_event(self, type: str, count: int, minutes: int = 5) -> list[dict[str, Any]]:
        """Close minutes until the hft stream has `count` events of `type` (their payloads)."""
        for _ in range(minutes):
            if len(self.hft.of(type)) >= count:
                break
            await self.close()
        await self.hft.until(lambda: len(self.hft.of(type)) >= count)
        return [f["payload"] for f in self.hft.of(type)]

    async def status(self) -> dict[str, Any]:
        answer = await self.http.get("/api/hft/status")
        assert answer.status_code == 200, answer.text
        status: dict[str, Any] = answer.json()
        return status

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.market.close()
        await self.hft.close()


@asynccontextmanager
async def live_desk(
    fake: FakeUpstox, token_file: Path, data_dir: Path, env: dict[str, str] | None = None
) -> AsyncIterator[LiveDesk]:
    async with serving_on(fake, token_file, data_dir, KEYS, {**LIVE, **(env or {})}) as server:
        desk = LiveDesk(
            fake, server, await FrameLog(server.ws("market")).start(), await FrameLog(server.ws("hft")).start()
        )
        try:
            yield desk
        finally:
            await desk.aclose()
