"""`hft.error` when the market feed the engine trades on loses its Upstox token.

Upstox tokens expire at 03:30 IST; the feed then answers 401 on every retry (status
`token_expired`) until a renewed token is read. An engine that is on (running or halted: it
still manages open trades) gets no new prices meanwhile, so the trader is told once per
episode: from the first `token_expired` until the feed streams again (`live` or
`market_closed`), however many retries fail in between. With the engine stopped nothing is
announced (the market status says it).
"""

from __future__ import annotations

import asyncio
import logging

from app.events import HftError, MarketStatus, publish
from app.trading.service import TradingService
from app.trading.state import EngineState

log = logging.getLogger(__name__)
STREAMING = ("live", "market_closed")


class FeedAlerts:
    """A MarketStatusTracker listener (called inline); the announcement goes out on a task."""

    def __init__(self, service: TradingService) -> None:
        self.service = service
        self._announced = False
        self._tasks: set[asyncio.Task[None]] = set()

    def on_status(self, status: MarketStatus) -> None:
        if status.status in STREAMING:
            self._announced = False
            return
        if status.status != "token_expired" or self._announced or not self._engine_on():
            return
        self._announced = True
        text = (
            f"market feed: {status.error or 'token expired or invalid'}; the engine gets no new prices "
            "until a renewed token is read (signaldesk upstox login writes SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE)"
        )
        log.error("trading: %s", text)
        task = asyncio.get_running_loop().create_task(publish(self.service.bus, HftError(error=text)))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _engine_on(self) -> bool:
        engine = self.service.engine
        return engine is not None and engine.state is not EngineState.STOPPED

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("trading: the feed alert could not be published: %s", task.exception())
