"""WebSocket client helpers for tests: read envelopes with timeouts, never sleeps."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect


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


async def heartbeat_gaps(url: str, count: int = 10) -> list[float]:
    """Connect to `url` (a stream with nothing but heartbeats) and read `count` heartbeats: the
    gaps in seconds between their arrivals (a stalled event loop stops them). Connected here, at
    the moment to measure: heartbeats a client connected earlier received meanwhile sit in its
    queue and read at once, gaps of ~0 whatever the server's loop did."""
    async with connect(url) as ws:
        await recv_ready(ws)
        loop, arrivals = asyncio.get_running_loop(), []
        for _ in range(count):
            frame = await asyncio.wait_for(ws.recv(), 5)
            assert '"stream.heartbeat"' in frame, frame
            arrivals.append(loop.time())
    return [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]


async def answer_beside_heartbeats(ws: ClientConnection, url: str, **params: object) -> tuple[Any, list[float]]:
    """GET `url` (on a thread) while reading the stream `ws` (one with nothing but heartbeats): the
    answer, and the gaps in seconds between the heartbeats that arrived meanwhile (a stalled event
    loop stops them)."""
    asked = asyncio.ensure_future(asyncio.to_thread(httpx.get, url, params=params, timeout=120))
    loop, arrivals = asyncio.get_running_loop(), []
    while not asked.done():
        frame = await asyncio.wait_for(ws.recv(), 5)
        assert '"stream.heartbeat"' in frame, frame
        arrivals.append(loop.time())
    return await asked, [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]


class FrameLog:
    """Every frame of one WebSocket stream (control frames too), collected on a task; `until` waits
    on a condition over them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.frames: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> FrameLog:
        ws = await connect(self.url)
        self._task = asyncio.create_task(self._read(ws))
        return self

    async def _read(self, ws: Any) -> None:
        async with ws:
            async for message in ws:
                self.frames.append(orjson.loads(message))
                self._changed.set()

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == type_]

    async def until(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        async def wait() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.url}: condition not met in {timeout}s; last frames {self.frames[-3:]}"
            ) from None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
