"""A consumer's place on a channel, and the replay/live boundary it crosses once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from app.bus.events import Batch

log = logging.getLogger(__name__)


class ResumeFailure(StrEnum):
    """Why a requested position could not be replayed completely."""

    TOO_OLD = "too_old"  # retention dropped part of the gap
    EPOCH_CHANGED = "epoch_changed"  # the log is not the one the client was reading
    AHEAD = "ahead"  # after > head: the client claims events the log never had


@dataclass(frozen=True, slots=True)
class ResumeOutcome:
    """Where a subscription starts. Live events that follow all have ids > head_id."""

    epoch: str
    head_id: int
    resumed: bool
    reason: ResumeFailure | None


class Subscriber(Protocol):
    """What consumes a channel. Called on the event loop; `ready` and `deliver` must not block."""

    def ready(self, outcome: ResumeOutcome) -> None:
        """Called once, before any batch."""

    def deliver(self, batch: Batch) -> None:
        """Called with each batch in id order, never twice with the same id."""

    async def drained(self) -> bool:
        """Wait until the subscriber can take more (paces the replay); False once it is gone."""

    def lost(self) -> None:
        """The log this subscription read was replaced (a new epoch): no more batches will come.

        The consumer subscribes again (a WebSocket client reconnects and is told epoch_changed).
        """


class Subscription:
    """Registered before the replay query runs; live batches wait until the replay is done.

    The subscription remembers the last id delivered, so a live batch that overlaps the
    replay is cut at that id: no gap (registered first) and no duplicate (cut).
    """

    __slots__ = ("channel", "subscriber", "last_id", "_waiting", "_on_close")

    def __init__(self, channel: str, subscriber: Subscriber, on_close: Callable[[Subscription], None]) -> None:
        self.channel = channel
        self.subscriber = subscriber
        self.last_id = 0
        self._waiting: list[Batch] | None = []
        self._on_close = on_close

    def offer(self, batch: Batch) -> None:
        """A live batch from the fan-out (the common case, all new, inline: this runs per
        subscriber per batch)."""
        if self._waiting is not None:
            self._waiting.append(batch)
        elif batch.first_id > self.last_id:
            self.last_id = batch.last_id
            self.subscriber.deliver(batch)
        else:
            self.forward(batch)

    def forward(self, batch: Batch) -> None:
        """Deliver the part of `batch` not delivered yet."""
        rest = batch.after(self.last_id)
        if rest is not None:
            self.last_id = rest.last_id
            self.subscriber.deliver(rest)

    def go_live(self) -> None:
        """End of replay: deliver what arrived meanwhile, then pass live batches straight on."""
        waiting, self._waiting = self._waiting or [], None
        for batch in waiting:
            self.forward(batch)

    def close(self) -> None:
        """Stop receiving; safe to call more than once."""
        self._on_close(self)
