"""The broker's own charges of each live fill, stored beside the cost model's estimate.

A broker that can say what a fill cost (`FillCharges`: Upstox's brokerage API) tells this
recorder of each order that filled, as the order is answered; the recorder asks the broker
for the charges on a task of its own, after the engine has moved on, and writes them into the
order's `broker_charges` (the engine stored the order before it left, so the row is there).
The engine's decisions never wait on it. A fetch that fails is logged and leaves the column
null: the order and its trade are never touched otherwise. When the run stops, the fills still
queued (the flatten's exits) are fetched for a few seconds more (`drain`); any left after that,
and those whose fetch failed, are offered again when the next run on that broker starts
(`catch_up`: the latest `CATCH_UP_ORDERS` such orders). The paper broker has no figure of its
own: its orders stay null.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from app.trading.brokers.base import Fill, FillCharges
from app.trading.errors import BrokerError
from app.trading.store import TradeStore

log = logging.getLogger(__name__)
CATCH_UP_ORDERS = 200  # bounds the requests a start makes when many fetches failed before
# A fill's charges are fetched this long after it, and then only once the engine is not busy
# (`settled`): the request (and, in tests and benchmarks, the fake broker answering it on the
# same event loop) and the stored figure's commit never run while the engine is placing an
# order or taking a fill, so they cannot delay its commit and publish of one.
AFTER_THE_FILL = 0.5  # seconds


class BrokerChargesRecorder:
    """Fetches and stores the broker's charges of the fills it is offered, one at a time.

    `recorded` and `failed` count the fills whose figure was stored, or could not be had."""

    def __init__(
        self,
        broker: FillCharges,
        store: TradeStore,
        after: float = AFTER_THE_FILL,
        settled: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._broker = broker
        self._store = store
        self._after = after
        self._settled = settled
        self._fills: asyncio.Queue[tuple[float, Fill]] = asyncio.Queue()  # (due, on the loop's clock)
        self.recorded = 0
        self.failed = 0

    async def catch_up(self, venue: str) -> int:
        """Offer again the latest fills of `venue` that have no figure yet; how many."""
        fills = await self._store.fills_without_broker_charges(venue, CATCH_UP_ORDERS)
        for fill in fills:
            self.offer(fill)
        if fills:
            log.info("broker charges: %d earlier fill(s) without the broker's figure offered again", len(fills))
        return len(fills)

    def offer(self, fill: Fill) -> None:
        """A fill to fetch the charges of (the broker's fill listener; never blocks). Due `after`
        seconds from now: each fill's own delay, not one more per fill queued before it."""
        self._fills.put_nowait((asyncio.get_running_loop().time() + self._after, fill))

    async def run(self) -> None:
        """Fetch and store each offered fill's charges, until cancelled."""
        while True:
            due, fill = await self._fills.get()
            await asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time()))
            if self._settled is not None:
                await self._settled()
            try:
                if await self._record(fill):
                    self.recorded += 1
                else:
                    self.failed += 1
            finally:
                self._fills.task_done()

    async def drain(self, grace: float) -> None:
        """Wait (at most `grace` seconds) until every fill offered so far has been handled."""
        try:
            async with asyncio.timeout(grace):
                await self._fills.join()
        except TimeoutError:
            log.warning("broker charges of %d fill(s) not fetched: the run stopped", self._fills.qsize() + 1)

    async def _record(self, fill: Fill) -> bool:
        try:
            charges = await self._broker.fill_charges(fill)
        except BrokerError as e:
            log.warning("broker charges of order %d not known: %s", fill.client_order_id, e)
            return False
        except Exception:  # a bug here must not end the recording of the fills to come
            log.exception("broker charges of order %d failed", fill.client_order_id)
            return False
        try:
            stored = await self._store.set_broker_charges(fill.client_order_id, charges)
        except Exception:
            log.exception("broker charges of order %d could not be stored", fill.client_order_id)
            return False
        if not stored:
            log.warning("broker charges of order %d: no such order stored", fill.client_order_id)
        return stored
