"""The fake Upstox, a source pointed at it, and a consumer of its BarSets (as MarketFeed iterates it)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.core.config import Settings
from app.market.bars import BarSet
from app.market.calendar import NseCalendar
from app.market.sources import upstox_source
from app.market.upstox.source import UpstoxBarSource
from app.market.upstox.state import SourceState
from tests.market.conftest import ist
from tests.market.upstox.fake import FakeUpstox

A, B = "NSE_EQ|INE002A01018", "NSE_EQ|INE467B01029"
M = ist("2024-01-25 10:00")  # a Thursday session's minute; the tests' clock starts here


def ms(seconds: float) -> int:
    return int(seconds * 1000)


def make_source(fake: FakeUpstox, token_file: Path, calendar: NseCalendar, **settings: Any) -> UpstoxBarSource:
    values: dict[str, Any] = {
        "market_source": "upstox",
        "market_instruments": f"{A},{B}",
        "upstox_base_url": fake.url,
        "upstox_access_token_file": token_file,
        "upstox_bar_grace": 1.0,
        "upstox_reconnect_min": 0.01,
        "upstox_reconnect_max": 0.05,
        **settings,
    }
    return upstox_source(Settings(**values), calendar=calendar)


class Consumer:
    """Iterates a source on a task, like MarketFeed; BarSets and every state change are kept."""

    def __init__(self, source: UpstoxBarSource) -> None:
        self.source = source
        self.bars: asyncio.Queue[BarSet] = asyncio.Queue()
        self.states: list[SourceState] = []
        source.add_state_listener(self.states.append)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for bars in self.source:
            await self.bars.put(bars)

    async def next(self, timeout: float = 5.0) -> BarSet:
        return await asyncio.wait_for(self.bars.get(), timeout)

    async def state(self, predicate: Any, timeout: float = 5.0) -> SourceState:
        return await asyncio.wait_for(self.source.wait_state(predicate), timeout)

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@pytest.fixture
async def consume() -> AsyncIterator[Any]:
    consumers: list[Consumer] = []

    def start(source: UpstoxBarSource) -> Consumer:
        consumers.append(Consumer(source))
        return consumers[-1]

    yield start
    for consumer in consumers:
        await consumer.close()


def jwt(claims: dict[str, Any]) -> str:
    """A JWT-shaped token (header.payload.signature, base64url without padding), as Upstox's are;
    the signature is junk: nothing here verifies it."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"
