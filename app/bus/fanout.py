"""In-process fan-out: hands each committed batch to the live subscriptions of its channel."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from app.bus.events import Batch, StoredEvent
from app.bus.subscription import Subscriber, Subscription

log = logging.getLogger(__name__)


class Fanout:
    """Subscriptions by channel. A subscriber that raises is dropped; the others go on."""

    def __init__(self) -> None:
        self._by_channel: dict[str, set[Subscription]] = {}

    def add(self, channel: str, subscriber: Subscriber) -> Subscription:
        sub = Subscription(channel, subscriber, self.remove)
        self._by_channel.setdefault(channel, set()).add(sub)
        return sub

    def remove(self, sub: Subscription) -> None:
        subs = self._by_channel.get(sub.channel)
        if subs is not None:
            subs.discard(sub)

    def count(self, channel: str | None = None) -> int:
        if channel is not None:
            return len(self._by_channel.get(channel, ()))
        return sum(len(subs) for subs in self._by_channel.values())

    def lose_all(self) -> None:
        """The log every subscription reads is gone: tell each subscriber, then forget them all."""
        subs = [sub for group in self._by_channel.values() for sub in group]
        for group in self._by_channel.values():
            group.clear()
        for sub in subs:
            try:
                sub.subscriber.lost()
            except Exception:
                log.exception("subscriber failed while told its log was lost")

    def dispatch(self, events: Sequence[StoredEvent]) -> None:
        """Fan out events in id order, one Batch per channel."""
        runs: dict[str, list[StoredEvent]] = {}
        for event in events:
            if event.channel in self._by_channel:
                runs.setdefault(event.channel, []).append(event)
        for channel, run in runs.items():
            subs = self._by_channel[channel]
            if not subs:
                continue
            batch = Batch(channel, run)
            for sub in list(subs):
                try:
                    sub.offer(batch)
                except Exception:
                    log.exception("subscriber failed on %s; dropped", channel)
                    self.remove(sub)
