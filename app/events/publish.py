"""Typed events on and off a bus: producers publish objects, consumers receive objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import orjson

from app.bus.events import StoredEvent
from app.events.payload import Event
from app.events.registry import CONTRACT


class EventSink(Protocol):
    """Where events go: the EventBus live, a recorder in backtests."""

    async def publish_many(self, channel: str, events: Sequence[tuple[str, object]]) -> Any: ...


async def publish(sink: EventSink, *events: Event) -> Any:
    """Publish events of one channel, in order, all or none; each one's type is its class's."""
    if not events:
        raise ValueError("publish needs at least one event")
    channel = events[0].channel
    strays = [e.event_type for e in events if e.channel != channel]
    if strays:
        raise ValueError(f"publish takes events of one channel ({channel!r}); not {', '.join(strays)}")
    return await sink.publish_many(channel, [(e.event_type, e) for e in events])


def decode(event: StoredEvent) -> Event:
    """A stored event's payload as its typed model (the bus validated it when it was published)."""
    model = CONTRACT[event.channel][event.type]
    return model.model_validate(orjson.loads(event.data)["payload"])
