"""The kill switch with entries in flight: halt and flatten win, and nothing enters afterwards."""

from __future__ import annotations

import asyncio

from app.trading.brokers.paper import PaperBroker
from app.trading.orders import OrderRequest, OrderResult
from tests.trading.stubs import INFY, RELIANCE, TCS, make_desk

PRICES = {RELIANCE: 2900.0, TCS: 3900.0, INFY: 1500.0}


class HeldBroker:
    """The paper broker, with its second order held at the door until the test lets it through."""

    def __init__(self, paper: PaperBroker) -> None:
        self.paper = paper
        self.name, self.is_live = paper.name, paper.is_live
        self.connected = True
        self.held = asyncio.Event()
        self.release = asyncio.Event()
        self.count = 0

    async def place_order(self, request: OrderRequest) -> OrderResult:
        self.count += 1
        if self.count == 2:
            self.held.set()
            await self.release.wait()
        return await self.paper.place_order(request)

    def __getattr__(self, name: str) -> object:
        return getattr(self.paper, name)


async def test_halt_and_flatten_while_an_entry_is_in_flight() -> None:
    desk = await make_desk()
    broker = HeldBroker(desk.paper)
    desk.engine.venue = broker  # type: ignore[assignment]
    await desk.warm(PRICES)
    for k, key in enumerate((RELIANCE, TCS, INFY)):
        desk.calibrate(key)
        desk.predict(key, 0.01, id=k)
    bar = asyncio.create_task(desk.bar(PRICES))
    await asyncio.wait_for(broker.held.wait(), 5)  # the second entry is at the broker
    assert await desk.engine.stop_entries("kill switch")
    flatten = asyncio.create_task(desk.engine.flatten())
    await asyncio.sleep(0)
    broker.release.set()
    await asyncio.wait_for(bar, 5)
    outcome = await asyncio.wait_for(flatten, 5)

    entries = desk.sink.of("hft.entry")
    assert len(entries) == 2  # the one before and the one in flight; the third was denied
    assert desk.engine.denied == {"halted": 1}
    assert (outcome.closed, outcome.errors) == (2, [])
    assert not desk.engine.book.open and await desk.paper.positions() == {}
    types = desk.sink.types()
    assert types.index("hft.flatten") > max(i for i, t in enumerate(types) if t == "hft.entry")

    for k, key in enumerate((RELIANCE, TCS, INFY)):  # afterwards: signals come, nothing enters
        desk.predict(key, 0.02, id=10 + k)
    await desk.bar(PRICES)
    await desk.bar(PRICES)
    assert len(desk.sink.of("hft.entry")) == 2 and not desk.engine.book.open
