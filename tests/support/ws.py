"""WebSocket client helpers for tests: read envelopes with timeouts, never sleeps."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection


async def recv_frame(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
    return frame


async def recv_events(ws: ClientConnection, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The next `count` events (frames with an id), skipping control frames."""
    events: list[dict[str, Any]] = []

    async def collect() -> None:
        while len(events) < count:
            frame = orjson.loads(await ws.recv())
            if frame["id"] is not None:
                events.append(frame)

    await asyncio.wait_for(collect(), timeout)
    return events


async def recv_ready(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    frame = await recv_frame(ws, timeout)
    assert frame["type"] == "stream.ready", frame
    assert frame["id"] is None
    payload: dict[str, Any] = frame["payload"]
    return payload


async def recv_until(ws: ClientConnection, until: Any, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Events (frames with an id, control frames skipped) until `until(events)` holds."""
    events: list[dict[str, Any]] = []

    async def collect() -> None:
        while not until(events):
            frame = orjson.loads(await ws.recv())
            if frame["id"] is not None:
                events.append(frame)

    await asyncio.wait_for(collect(), timeout)
    return events
