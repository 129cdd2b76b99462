"""A hand-fed bar source (Upstox itself is the fake on loopback: tests/market/upstox/fake.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from app.market.bars import BarSet
from app.market.intervals import Interval


class QueueSource:
    """A BarSource fed by hand: the test decides when each bar closes."""

    def __init__(self, instruments: tuple[str, ...], interval: Interval) -> None:
        self.instruments = instruments
        self.interval = interval
        self.queue: asyncio.Queue[BarSet] = asyncio.Queue()

    async def __aiter__(self) -> AsyncIterator[BarSet]:
        while True:
            yield await self.queue.get()
