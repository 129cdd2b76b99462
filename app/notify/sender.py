"""Delivery to one notification URL through apprise: a queue, one send at a time, retries with
backoff, and every outcome counted (status, /metrics, the log).

apprise's `async_notify` runs the blocking plugins on its own threads and stops waiting at the
`timeout` given, so a slow or hanging endpoint holds up only this URL's queue. An alert that
fails every try is given up on loudly: counted as failed, logged as an error and kept as the
destination's `last_failure`, never dropped in silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections import deque
from collections.abc import Callable

import apprise

from app.notify.kinds import Alert
from app.notify.metrics import FAILED, RETRIED, SENT
from app.notify.status import DestinationStatus, Failure

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0  # seconds: the longest wait between two tries
QUEUE_LIMIT = 1000  # alerts waiting for one URL; beyond it the oldest is given up on (and counted)


class BadNotifyUrl(ValueError):
    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(f"{url!r} is not a notification URL apprise understands (see its wiki for the formats)")


def loaded(url: str) -> apprise.Apprise:
    """An apprise object holding `url` alone; BadNotifyUrl when apprise cannot parse it."""
    sender = apprise.Apprise()
    with warnings.catch_warnings():
        # apprise loads its plugins on the first add; on Python 3.11 its PGP helper imports the
        # deprecated imghdr (apprise's own shim takes over from 3.13).
        warnings.filterwarnings("ignore", message="'imghdr' is deprecated", category=DeprecationWarning)
        added = sender.add(url)
    if not added:
        raise BadNotifyUrl(url)
    return sender


def check_urls(urls: list[str]) -> list[str]:
    """The URLs unchanged when apprise parses each (settings validation); BadNotifyUrl naming the first it cannot."""
    for url in urls:
        loaded(url)
    return urls


class Destination:
    """One notification URL and its queue of alerts.

    :param timeout: seconds one try may take (apprise's call deadline).
    :param retries: tries after the first; the waits between them start at `backoff` and double.
    :param wall: epoch seconds, for the failure's time.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        retries: int,
        backoff: float,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._apprise = loaded(url)
        private = next(iter(self._apprise)).url(privacy=True)
        self.status = DestinationStatus(url=private.split("?", 1)[0])
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._wall = wall
        self._queue: deque[Alert] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set after each alert is done with
        self._sending: Alert | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"notify:{self.status.url}")

    async def stop(self, drain: float = 0.0) -> None:
        """Stop sending, after up to `drain` seconds for what is queued; what is left is logged
        (and stays counted as pending)."""
        task, self._task = self._task, None
        if task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained(), drain)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if self.status.pending:
            log.error(
                "notify: %d alerts to %s were not sent: the notifier stopped", self.status.pending, self.status.url
            )

    async def _drained(self) -> None:
        while self.status.pending:
            self._idle.clear()
            await self._idle.wait()

    def put(self, alert: Alert) -> None:
        """Queue `alert` (never waits)."""
        if len(self._queue) >= QUEUE_LIMIT:
            oldest = self._queue.popleft()
            self._give_up(oldest, f"more than {QUEUE_LIMIT} alerts waiting for this URL; the oldest was dropped")
        self._queue.append(alert)
        self._count()
        self._wake.set()

    async def attempt(self, alert: Alert) -> str | None:
        """One try: None when delivered, else why not."""
        try:
            result = await self._apprise.async_notify(
                body=alert.body, title=alert.title, notify_type=alert.severity, timeout=self.timeout
            )
        except Exception as e:  # a plugin bug must not end the queue
            return f"{type(e).__name__}: {e}"
        if result:
            return None
        reasons = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR")]
        return "; ".join(dict.fromkeys(reasons)) or f"apprise: {result.status.name.lower()}"

    async def _run(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            self._sending = self._queue.popleft()
            await self._deliver(self._sending)
            self._sending = None
            self._count()
            self._idle.set()

    def _count(self) -> None:
        """Pending: the alerts queued and the one being sent."""
        self.status.pending = len(self._queue) + (self._sending is not None)

    async def _deliver(self, alert: Alert) -> None:
        delay = self.backoff
        for tried in range(self.retries + 1):
            reason = await self.attempt(alert)
            if reason is None:
                self.status.sent += 1
                SENT.labels(alert.kind.value).inc()
                return
            if tried == self.retries:
                self._give_up(alert, reason)
                return
            self.status.retries += 1
            RETRIED.labels(alert.kind.value).inc()
            log.warning("notify: %s to %s failed (%s); retrying in %.3g s", alert.kind, self.status.url, reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    def _give_up(self, alert: Alert, reason: str) -> None:
        self.status.failed += 1
        self.status.last_failure = Failure(alert.kind.value, alert.title, self.status.url, reason, int(self._wall()))
        FAILED.labels(alert.kind.value).inc()
        log.error("notify: gave up on the %s alert %r to %s: %s", alert.kind, alert.title, self.status.url, reason)
