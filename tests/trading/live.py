"""Helpers for the trading tests on a real server: inject predictions, read the hft stream."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection

from app.events import CONTRACT
from tests.support.cli import signaldesk
from tests.support.server import ServerProcess
from tests.trading.stubs import prediction, resolution

FAST = {  # the engine's mechanics on injected predictions: the skill gate (tests/trading/test_skill_gate.py) off
    "SIGNALDESK_MARKET_SPEED": "1200",
    "SIGNALDESK_MARKET_SEED": "7",
    "SIGNALDESK_HFT_SKILL_GATE": "false",
}
REASONS = {"stop", "target", "time", "signal", "flatten", "square_off", "daily_loss", "reconcile"}
Event = dict[str, Any]


class Stream:
    """The hft events read so far (control frames skipped), each held to the contract exactly."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[Event] = []

    async def until(self, done: Callable[[list[Event]], bool], timeout: float = 30.0) -> list[Event]:
        async def read() -> None:
            while not done(self.events):
                frame = orjson.loads(await self.ws.recv())
                if frame["id"] is None:
                    continue
                model = CONTRACT["hft"][frame["type"]]
                assert model.model_validate(frame["payload"]).model_dump(mode="json") == frame["payload"], frame
                self.events.append(frame)

        await asyncio.wait_for(read(), timeout)
        return self.events

    async def catch_up(self, server: ServerProcess, timeout: float = 10.0) -> list[Event]:
        """Read on until every hft event stored so far has been read."""
        after = self.events[-1]["id"] if self.events else 0
        page = httpx.get(f"{server.http}/api/events", params={"channel": "hft", "after": after, "limit": 1000}).json()
        last = page["events"][-1]["id"] if page["events"] else after
        return await self.until(lambda ev: (ev[-1]["id"] if ev else 0) >= last, timeout)

    def of(self, type: str) -> list[Event]:
        return [e["payload"] for e in self.events if e["type"] == type]

    def open_ids(self) -> set[int]:
        return {p["trade_id"] for p in self.of("hft.entry")} - {p["trade_id"] for p in self.of("hft.exit")}


def status(server: ServerProcess) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{server.http}/api/hft/status", timeout=10).json()
    return answer


def cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """`signaldesk hft *args` against `server`, without this process's SIGNALDESK_ settings."""
    return signaldesk("hft", *args, "--url", server.http)


def post(server: ServerProcess, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(f"{server.http}/api/hft/{path}", json=body, timeout=30)


def latest_close(server: ServerProcess) -> int:
    """The close of the market's latest bar (waiting for the first one)."""
    for _ in range(200):
        bars = httpx.get(f"{server.http}/api/market", params={"limit": 1}, timeout=10).json()["bars"]
        if bars:
            return int(bars[-1]["close_ts"])
        asyncio.run(wait_for_bars(server, 1))
    raise AssertionError("no bars")


def inject(server: ServerProcess, key: str, adj: float, *, h: int, id: int, ahead: int = 4) -> None:
    """A well-calibrated prediction for `key`, made `ahead` bars after the engine's latest bar
    (so it is acted on at the bar that opens then, however long this request took)."""
    last = latest_close(server)
    for type, payload in (
        ("prediction.resolved", resolution(key, h=h)),
        ("prediction.created", prediction(key, adj, ts_pred=last + 60 * ahead, h=h, id=id)),
    ):
        answer = server.publish("prediction", type, payload, timeout=10)
        assert answer.status_code == 201, answer.text


async def assert_resumed_and_reconciled(server: ServerProcess, held: dict[str, int], open_trades: int) -> None:
    """After a restart or failover: the run resumed with its open trades and, once the first
    bars have been managed, the broker's positions are those held before, the engine's too."""
    state = status(server)
    assert (state["state"], state["open_trades"]) == ("running", open_trades)
    await wait_for_bars(server, 5)  # reconciled at the first bar: the paper ledger agrees
    positions = httpx.get(f"{server.http}/api/hft/positions").json()["positions"]
    assert {p["instrument_key"]: p["qty"] for p in positions} == held
    assert all(p["qty"] == p["engine_qty"] for p in positions)


async def wait_for_bars(server: ServerProcess, bars: int, timeout: float = 20.0) -> None:
    """Wait until `bars` more bars have closed (counted on the market stream)."""
    from websockets.asyncio.client import connect

    async def run() -> None:
        async with connect(server.ws("market")) as ws:
            seen = 0
            while seen < bars:
                seen += orjson.loads(await ws.recv())["type"] == "market.bars"

    await asyncio.wait_for(run(), timeout)
