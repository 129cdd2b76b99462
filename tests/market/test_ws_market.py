"""/api/ws/market against a real server process running a fast simulated market."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.events import EPHEMERAL, Envelope, MarketBars, MarketStatus
from app.market.calendar import IST, NseCalendar
from app.market.intervals import CANONICAL
from tests.support.server import ServerProcess
from tests.support.ws import recv_frame, recv_ready

TOKEN = "t0ken-for-tests-0123456789"
FAST = {"SIGNALDESK_MARKET_SPEED": "3000", "SIGNALDESK_MARKET_SEED": "9"}  # 50 one-minute bars a second
# Half an hour before Thursday's close; Friday 2024-01-26 is a holiday: the bars go on Monday 09:16.
BEFORE_HOLIDAY = {"SIGNALDESK_MARKET_SPEED": "600", "SIGNALDESK_MARKET_START": "2024-01-25T15:00:00+05:30"}


async def recv_bars(ws: ClientConnection, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The next `count` market.bars frames (heartbeats and market.status skipped), each checked
    against the models."""
    frames: list[dict[str, Any]] = []

    async def collect() -> None:
        while len(frames) < count:
            frame = await recv_frame(ws)
            Envelope.model_validate(frame)
            if frame["type"] == "market.status":
                MarketStatus.model_validate(frame["payload"])
                continue
            if frame["type"] == "stream.heartbeat":
                continue
            assert frame["id"] is None and frame["channel"] == "market" and frame["type"] == "market.bars"
            EPHEMERAL["market"]["market.bars"].model_validate(frame["payload"])
            frames.append(frame)

    await asyncio.wait_for(collect(), timeout)
    return frames


async def test_market_bars_on_the_nse_grid_after_ready(server_factory, calendar: NseCalendar) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(env=BEFORE_HOLIDAY)
    server.start()
    async with connect(server.ws("market")) as ws:
        ready = await recv_ready(ws)
        assert ready["resumed"] is False and ready["reason"] is None and ready["head_id"] == 0
        frames = await recv_bars(ws, 20)
    payloads = [MarketBars.model_validate(f["payload"]) for f in frames]
    closes = [p.close_ts for p in payloads]
    year_opens, year_closes = calendar.bar_grid(CANONICAL["1m"], datetime.fromtimestamp(closes[0], IST).year)
    i = int(np.searchsorted(year_closes, closes[0]))
    assert closes == year_closes[i : i + 20].tolist()  # consecutive bars of the grid, none skipped
    assert [p.ts for p in payloads] == year_opens[i : i + 20].tolist()
    first = payloads[0]
    assert first.interval == "1m" and [b.instrument_key for b in first.bars] == [
        "NSE_EQ|INE002A01018",
        "NSE_EQ|INE467B01029",
        "NSE_EQ|INE040A01034",
        "NSE_EQ|INE009A01021",
        "NSE_EQ|INE090A01021",
    ]
    for p in payloads:
        for b in p.bars:
            assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high and b.volume >= 0
    assert all(isinstance(f["ts"], int) for f in frames)


async def test_every_client_gets_the_same_bytes(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(env=FAST)
    server.start()
    # each client reads while the other waits: an unbounded queue keeps the idle one reading, or
    # its close handshake would wait (close_timeout, 10 s) behind the bars it has not taken
    unbounded = {"max_queue": None}
    async with connect(server.ws("market"), **unbounded) as a, connect(server.ws("market"), **unbounded) as b:
        await recv_ready(a)
        await recv_ready(b)
        first_a = (await recv_bars(a, 1))[0]
        got_b = await recv_bars(b, 3)
        later_a = await recv_bars(a, 20)  # enough to overlap b's even if b registered a few bars later
    by_close = {f["payload"]["close_ts"]: f for f in [first_a, *later_a]}
    common = [f for f in got_b if f["payload"]["close_ts"] in by_close]
    assert common and all(f == by_close[f["payload"]["close_ts"]] for f in common)


async def test_same_access_checks_as_the_channels(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(env={**FAST, "SIGNALDESK_API_TOKEN": TOKEN})
    server.start()
    assert (await close_of(server.ws("market")))[0] == 4401
    assert (await close_of(server.ws("market"), additional_headers={"Origin": "http://evil.example"}))[0] == 4403
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with connect(server.ws("market"), additional_headers=headers) as ws:
        await recv_ready(ws)
        await recv_bars(ws, 1)
    async with connect(server.ws("market"), subprotocols=["signaldesk.v1", f"bearer.{TOKEN}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "signaldesk.v1"
        await recv_ready(ws)
        await ws.send("hello")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003


async def test_market_off_sends_its_status_then_only_heartbeats(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(env={"SIGNALDESK_MARKET_SOURCE": "off"})
    server.start()
    async with connect(server.ws("market")) as ws:
        await recv_ready(ws)
        status = await recv_frame(ws, timeout=3)
        assert status["type"] == "market.status" and status["id"] is None
        assert MarketStatus.model_validate(status["payload"]).status == "off"
        assert (await recv_frame(ws, timeout=3))["type"] == "stream.heartbeat"


async def test_a_simulated_market_says_live_right_after_ready(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(env=FAST)
    server.start()
    async with connect(server.ws("market")) as ws:
        await recv_ready(ws)
        status = MarketStatus.model_validate((await recv_frame(ws, timeout=3))["payload"])
    assert (status.source, status.status, status.error) == ("simulated", "live", None)


async def close_of(url: str, **kw: object) -> tuple[int, str]:
    async with connect(url, **kw) as ws:  # type: ignore[arg-type]
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason
