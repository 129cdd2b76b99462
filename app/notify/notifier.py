"""The notifier: a bus subscriber (and market listener) that turns what happens into alerts and
hands them to every notification URL.

Never on the engine's path: `deliver` only queues the batch (the bus calls it inline in its
fan-out); decoding, deciding and sending happen on the notifier's own task and each URL's queue
(app.notify.sender). It subscribes live when started: what was published before is history,
not news. In a cluster only the leader runs it (app.main's LeaderDuties), so each alert goes
out once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable
from datetime import time

from app.bus.events import Batch
from app.bus.interface import EventBus
from app.bus.subscription import ResumeOutcome, Subscription
from app.core.config import Settings
from app.events import MarketStatus, decode
from app.market.feed import MarketFeed
from app.market.status import MarketStatusTracker
from app.notify.batcher import Batcher
from app.notify.events import EventAlerts
from app.notify.kinds import BATCHED, Alert, AlertKind, parse_kinds
from app.notify.market import MarketAlerts
from app.notify.sender import Destination
from app.notify.status import NotifierStatus
from app.notify.summary import DailySummary
from app.trading.store import TradeStore

log = logging.getLogger(__name__)

CHANNELS = ("hft", "training", "automation")
STOP_DRAIN = 2.0  # seconds a stopping notifier still sends what it has queued


class Notifier:
    """:param destinations: one per notification URL; none: the notifier never starts.
    :param kinds: the kinds sent (SIGNALDESK_NOTIFY_EVENTS); `test` always is.
    :param batch_window: seconds entries and exits are gathered into one message.
    :param square_off, summary_wait, summary_poll: the daily summary's (app.notify.summary).
    """

    def __init__(
        self,
        destinations: list[Destination],
        kinds: Iterable[AlertKind],
        *,
        bus: EventBus,
        feed: MarketFeed,
        market_status: MarketStatusTracker | None,
        trades: TradeStore,
        batch_window: float,
        square_off: time,
        summary_wait: float,
        summary_poll: float = 1.0,
    ) -> None:
        self.destinations = destinations
        self.kinds = frozenset(kinds)
        self.bus = bus
        self.feed = feed
        self.market_status = market_status
        self.summary = DailySummary(trades, self.notify, square_off=square_off, wait=summary_wait, poll=summary_poll)
        self.batcher = Batcher(batch_window, self._send)
        self._events = EventAlerts()
        self._market = MarketAlerts()
        self._batches: deque[Batch] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._subscriptions: list[Subscription] = []
        self._resubscribing: asyncio.Task[None] | None = None
        self._detach: list[Callable[[], None]] = []

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        bus: EventBus,
        feed: MarketFeed,
        market_status: MarketStatusTracker | None,
        trades: TradeStore,
    ) -> Notifier:
        destinations = [
            Destination(
                url, timeout=settings.notify_timeout, retries=settings.notify_retries, backoff=settings.notify_backoff
            )
            for url in settings.notify_urls
        ]
        return cls(
            destinations,
            parse_kinds(settings.notify_events),
            bus=bus,
            feed=feed,
            market_status=market_status,
            trades=trades,
            batch_window=settings.notify_batch_window,
            square_off=settings.hft_square_off,
            summary_wait=settings.notify_summary_wait,
        )

    @property
    def running(self) -> bool:
        return self._task is not None

    async def start(self) -> None:
        """Subscribe and start sending; nothing at all without a notification URL."""
        if not self.destinations or self._task is not None:
            return
        for destination in self.destinations:
            destination.start()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="notifier")
        await self._subscribe()
        self._detach.append(self.feed.add_listener(self.summary.on_bars))
        if self.market_status is not None:
            self._detach.append(self.market_status.add_listener(self.on_market_status))
        log.info("notify: %d URLs, kinds %s", len(self.destinations), ", ".join(sorted(self.kinds)))

    async def stop(self) -> None:
        """Unsubscribe; alerts already made still go out for up to STOP_DRAIN seconds, then sending stops."""
        task, self._task = self._task, None
        if task is None:
            return
        resubscribing = self._resubscribing
        if resubscribing is not None:
            resubscribing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await resubscribing
        for subscription in self._subscriptions:
            subscription.close()
        self._subscriptions.clear()
        for detach in self._detach:
            detach()
        self._detach.clear()
        await self.summary.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        while self._batches:  # delivered before the unsubscribe: still news
            self._handle(self._batches.popleft())
        self.batcher.flush()
        await asyncio.gather(*(d.stop(STOP_DRAIN) for d in self.destinations))

    async def _subscribe(self) -> None:
        try:
            old, self._subscriptions = self._subscriptions, []
            for subscription in old:
                subscription.close()
            for channel in CHANNELS:
                self._subscriptions.append(await self.bus.subscribe(channel, self))
        finally:
            self._resubscribing = None

    def status(self) -> NotifierStatus:
        return NotifierStatus(
            kinds=tuple(sorted(self.kinds)),
            destinations=[d.status for d in self.destinations],
            running=self.running,
        )

    def notify(self, alert: Alert) -> None:
        """Send `alert` to every URL when its kind is selected (entries and exits batched)."""
        if alert.kind not in self.kinds and alert.kind is not AlertKind.TEST:
            return
        if alert.kind in BATCHED:
            self.batcher.add(alert)
        else:
            self._send(alert)

    def on_market_status(self, status: MarketStatus) -> None:
        for alert in self._market.alerts(status):
            self.notify(alert)

    def _send(self, alert: Alert) -> None:
        for destination in self.destinations:
            destination.put(alert)

    # --- the bus Subscriber ---------------------------------------------------------------

    def ready(self, outcome: ResumeOutcome) -> None:
        pass

    def deliver(self, batch: Batch) -> None:
        self._batches.append(batch)
        self._wake.set()

    async def drained(self) -> bool:
        return self._task is not None

    def lost(self) -> None:
        """A new event log (each channel's subscription says so): follow the new one, live."""
        if self._task is None or self._resubscribing is not None:
            return
        log.warning("notify: the event log was replaced; following the new one from now")
        self._resubscribing = asyncio.get_running_loop().create_task(self._subscribe(), name="notifier-resubscribe")

    async def _run(self) -> None:
        while True:
            while not self._batches:
                self._wake.clear()
                await self._wake.wait()
            self._handle(self._batches.popleft())

    def _handle(self, batch: Batch) -> None:
        try:
            for alert in self._events.alerts([decode(e) for e in batch.events]):
                self.notify(alert)
        except Exception:  # one odd event must not end the alerts
            log.exception("notify: events %d-%d of %s could not be read", batch.first_id, batch.last_id, batch.channel)
