"""The Upstox feed's status where a trader looks, on a real server against the fake Upstox:
/api/health, GET /api/market, the market.status frames of /api/ws/market; an expired token as
one hft.error per episode while the engine trades on the feed; and paper by default (item 4:
live data turns neither key of the live gate)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from app.events import MarketStatus
from tests.market.upstox.conftest import A, B, M, ms
from tests.market.upstox.fake import FakeUpstox, market_info_frame
from tests.support.server import ServerProcess
from tests.support.ws import recv_frame, recv_ready, recv_until


async def next_status(ws: ClientConnection, timeout: float = 10.0) -> MarketStatus:
    """The next market.status frame of the market stream (heartbeats and bars skipped)."""

    async def read() -> MarketStatus:
        while True:
            frame = await recv_frame(ws, timeout)
            if frame["type"] == "market.status":
                assert frame["id"] is None and frame["channel"] == "market"
                return MarketStatus.model_validate(frame["payload"])

    return await asyncio.wait_for(read(), timeout)


async def status_until(ws: ClientConnection, status: str) -> MarketStatus:
    while (got := await next_status(ws)).status != status:
        pass
    return got


async def test_the_feed_status_everywhere_and_one_hft_error_per_token_expiry(
    fake: FakeUpstox, server_factory: Any, tmp_path: Path
) -> None:
    token_file = tmp_path / "upstox-token"
    token_file.write_text("good-token\n")
    server: ServerProcess = server_factory(
        env={
            "SIGNALDESK_MARKET_SOURCE": "upstox",
            "SIGNALDESK_MARKET_INSTRUMENTS": f"{A},{B}",
            "SIGNALDESK_UPSTOX_BASE_URL": fake.url,
            "SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE": str(token_file),
            "SIGNALDESK_UPSTOX_RECONNECT_MIN": "0.01",
            "SIGNALDESK_UPSTOX_RECONNECT_MAX": "0.05",
            "SIGNALDESK_HFT_AUTOSTART": "true",
        }
    )
    await asyncio.to_thread(server.start)
    async with (
        httpx.AsyncClient(base_url=server.http, timeout=10) as http,
        connect(server.ws("market")) as market,
        connect(server.ws("hft", after=0)) as hft,
    ):
        await recv_ready(market)
        first = await next_status(market)  # right after ready: where the feed is now
        assert first.source == "upstox" and first.status in ("connecting", "live")
        await fake.wait_for(lambda: len(fake.requests) == 1)
        await fake.send(market_info_frame(ms(M + 1), "NORMAL_OPEN"))
        live = await status_until(market, "live")
        assert (live.segment, live.connections, live.error) == ("NORMAL_OPEN", 1, None)
        health = (await http.get("/api/health")).json()
        assert health["status"] == "ok" and health["market"] == {"source": "upstox", "status": "live"}

        # Item 4: the engine started by default trades on paper, the gate closed, on live data.
        await recv_ready(hft)
        await recv_until(hft, lambda events: any(e["type"] == "hft.state" for e in events), timeout=30)
        status = (await http.get("/api/hft/status")).json()
        assert (status["state"], status["broker"], status["venue"]) == ("running", "paper", "paper")
        assert status["safe_mode"] is True and status["live_trading_enabled"] is False

        # Upstox's 03:30 expiry: 401 on every retry, announced once.
        token_file.write_text("expired-token\n")
        fake.drop()
        expired = await status_until(market, "token_expired")
        assert expired.error is not None and "token expired or invalid" in expired.error
        await fake.wait_for(lambda: fake.authorize_tokens.count("expired-token") >= 5)
        body = (await http.get("/api/market", params={"limit": 0})).json()
        assert body["state"] == "running" and body["status"]["status"] == "token_expired"
        assert "Invalid token used to access API" in body["status"]["error"]
        assert (await http.get("/api/health")).json()["market"]["status"] == "token_expired"
        assert await hft_errors_until_marker(http, hft) == 1

        # A renewed token: live again, and the next expiry is a new episode.
        token_file.write_text("good-token\n")
        await fake.wait_for(lambda: len(fake.requests) == 2)
        await fake.send(market_info_frame(ms(M + 120), "NORMAL_OPEN"))
        assert (await status_until(market, "live")).connections == 2
        token_file.write_text("expired-token\n")
        fake.drop()
        await status_until(market, "token_expired")
        assert await hft_errors_until_marker(http, hft) == 1
    await asyncio.to_thread(server.stop)  # while the fake serves: it sees its connections close


async def hft_errors_until_marker(http: httpx.AsyncClient, hft: ClientConnection) -> int:
    """hft.error events on the hft stream up to a marker published now (so none is still on its way)."""
    marker = {"error": "marker"}
    response = await http.post("/api/events", json={"channel": "hft", "type": "hft.manage_error", "payload": marker})
    assert response.status_code in (200, 201), response.text
    events = await recv_until(hft, lambda es: bool(es) and es[-1]["payload"] == marker, timeout=20)
    errors = [e for e in events if e["type"] == "hft.error"]
    assert all(
        "market feed: " in e["payload"]["error"] and "signaldesk upstox login" in e["payload"]["error"] for e in errors
    )
    return len(errors)
