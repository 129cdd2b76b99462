"""The event bus as every producer and consumer sees it; backends implement this."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from app.bus.events import StoredEvent
from app.bus.subscription import Subscriber, Subscription


class PayloadValidator(Protocol):
    """Checks a payload against the contract; the bus is given one, it does not know the contract."""

    channels: tuple[str, ...]

    def validate(self, channel: str, type: str, payload: object) -> dict[str, object]:
        """Return the payload as it is to be stored, or raise InvalidEvent naming each field."""
        ...


class EventBus(Protocol):
    """Durable, ordered, resumable events per channel.

    Guarantees every backend keeps:
    - ids come from one strictly increasing sequence for the whole bus;
    - `publish` returns only once the event is durable, and only durable events are fanned out;
    - `subscribe(after=N)` delivers every retained event with id > N, then live ones, each once,
      in id order, or says in its ResumeOutcome why it could not.
    """

    @property
    def epoch(self) -> str: ...

    @property
    def head_id(self) -> int:
        """The highest id delivered to live subscribers; everything up to it is durable."""
        ...

    @property
    def channels(self) -> tuple[str, ...]: ...

    storage_fault: str | None
    """Why the last append failed when the storage refused it (`app.storage.faults`); None once one succeeds."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, type: str, payload: object) -> StoredEvent: ...

    async def publish_many(self, channel: str, events: Sequence[tuple[str, object]]) -> list[StoredEvent]:
        """Several events of one channel, in order, all or none (every payload validated first)."""
        ...

    async def subscribe(
        self, channel: str, subscriber: Subscriber, *, after: int | None = None, epoch: str | None = None
    ) -> Subscription:
        """Register, tell the subscriber where it starts, replay, then go live."""
        ...

    async def history(self, channel: str, *, after: int, limit: int) -> list[StoredEvent]: ...

    async def floor(self, channel: str) -> int:
        """The highest id of `channel` that retention has deleted (0 when none)."""
        ...
