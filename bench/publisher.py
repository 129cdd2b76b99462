"""The in-process publisher both benchmark servers run, driven over a loopback TCP port.

A server under test hands it one coroutine, `publish() -> event id`, that publishes one
`prediction`/`predictor.error` event whose payload carries `time.time_ns()` as its `error`
string; or a list of them, one per lane (e.g. one per channel): event i goes to lane
i % lanes, and `stop` reports per lane how many were published and their first/last ids.
The orchestrator connects to the control port and sends JSON lines:

  {"cmd": "hello"}                                   -> {"ok": true, "pid": ..., "info": {...}}
  {"cmd": "start", "mode": "throughput", "window": W} -> publish as fast as it sustainably goes
  {"cmd": "start", "mode": "rate", "rate": R, "window": W} -> R events/s on a fixed schedule
  {"cmd": "stop"}                                    -> waits for publishes in flight, then
      {"ok": true, "published": n, "first_id": a, "last_id": b, "errors": e, "seconds": s,
       "lanes": [{"published": n, "first_id": a, "last_id": b}, ...]}

The load client connects too, sends `progress\\n`, then a stream of 8-byte big-endian
integers: the fewest data frames any of its live connections has received. The publisher
never gets more than W events ahead of that (a flow-control window, like TCP's): that is
"as fast as it sustainably goes", since without it a publisher faster than delivery only
fills per-client buffers until the server drops slow consumers. At most `concurrency`
publishes are in flight at once (signaldesk: many, so the bus's group commit has something
to group; the naive baseline: 1, it is a sequential loop by definition).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

log = logging.getLogger("bench.publisher")

PublishOne = Callable[[], Awaitable[int]]


async def exit_with_parent() -> None:
    """SIGINT this process (uvicorn shuts down gracefully) once the orchestrator is gone."""
    parent = os.getppid()
    while os.getppid() == parent:  # noqa: ASYNC110 (no event says a parent is gone: poll it)
        await asyncio.sleep(1.0)
    log.warning("the orchestrator is gone; shutting down")
    os.kill(os.getpid(), signal.SIGINT)


class Publisher:
    def __init__(self, publish: PublishOne | Sequence[PublishOne], *, concurrency: int, info: dict[str, Any]) -> None:
        self._lanes = [publish] if callable(publish) else list(publish)
        self.concurrency = concurrency
        self.info = info
        self._server: asyncio.Server | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._progressed = asyncio.Event()
        self._running = False
        self._reset()

    def _reset(self) -> None:
        self.submitted = 0
        self.progress = 0
        self.published = 0
        self.errors = 0
        self.first_error: str | None = None
        self.first_id: int | None = None
        self.last_id: int | None = None
        self.by_lane = [{"published": 0, "first_id": None, "last_id": None} for _ in self._lanes]
        self.started = time.monotonic()
        self.stopped: float | None = None

    # --- control ------------------------------------------------------------------------

    async def serve(self, port: int) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self._watchdog = asyncio.create_task(exit_with_parent())

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        await self._stop()
        if self._server is not None:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await reader.readline()
            if first.strip() == b"progress":
                await self._read_progress(reader)
                return
            line = first
            while line:
                try:
                    reply = await self._command(orjson.loads(line))
                except Exception as e:  # a bad command is answered, not fatal
                    reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
                writer.write(orjson.dumps(reply) + b"\n")
                await writer.drain()
                line = await reader.readline()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _read_progress(self, reader: asyncio.StreamReader) -> None:
        self.progress = 0
        rest = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            rest += chunk
            usable = len(rest) - len(rest) % 8
            if usable:
                self.progress = int.from_bytes(rest[usable - 8 : usable], "big")
                rest = rest[usable:]
                self._progressed.set()

    async def _command(self, msg: dict[str, Any]) -> dict[str, Any]:
        cmd = msg.get("cmd")
        if cmd == "hello":
            return {"ok": True, "pid": os.getpid(), "info": self.info}
        if cmd == "start":
            await self._stop()
            self._reset()
            window = int(msg.get("window", 1000))
            if msg.get("mode") == "throughput":
                self._start(self._throughput(window))
            elif msg.get("mode") == "rate":
                self._start(self._rate(float(msg["rate"]), window))
            else:
                return {"ok": False, "error": f"unknown mode {msg.get('mode')!r}"}
            return {"ok": True}
        if cmd == "stop":
            await self._stop()
            return {
                "ok": True,
                "published": self.published,
                "submitted": self.submitted,
                "first_id": self.first_id,
                "last_id": self.last_id,
                "errors": self.errors,
                "first_error": self.first_error,
                "seconds": (self.stopped or time.monotonic()) - self.started,
                "lanes": self.by_lane,
            }
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    # --- publishing ---------------------------------------------------------------------

    def _start(self, pump: Awaitable[None]) -> None:
        self._running = True
        self.started = time.monotonic()
        self._pump = asyncio.ensure_future(pump)

    async def _stop(self) -> None:
        if self._pump is None:
            return
        self._running = False
        self._progressed.set()
        self._pump.cancel()
        await asyncio.gather(self._pump, return_exceptions=True)
        self._pump = None
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=30)
        self.stopped = time.monotonic()

    async def _one(self, gate: asyncio.Semaphore, lane: int) -> None:
        try:
            event_id = await self._lanes[lane]()
        except Exception as e:
            self.errors += 1
            if self.first_error is None:
                self.first_error = f"{type(e).__name__}: {e}"
                log.exception("publish failed")
        else:
            self.published += 1
            if self.first_id is None or event_id < self.first_id:
                self.first_id = event_id
            if self.last_id is None or event_id > self.last_id:
                self.last_id = event_id
            counts = self.by_lane[lane]
            counts["published"] += 1
            if counts["first_id"] is None or event_id < counts["first_id"]:
                counts["first_id"] = event_id
            if counts["last_id"] is None or event_id > counts["last_id"]:
                counts["last_id"] = event_id
        finally:
            gate.release()

    async def _launch(self, gate: asyncio.Semaphore, window: int) -> None:
        """Launch one publish once the window and the in-flight limit allow it."""
        while self.submitted - self.progress >= window:
            self._progressed.clear()
            await self._progressed.wait()
        await gate.acquire()
        lane = self.submitted % len(self._lanes)
        self.submitted += 1
        task = asyncio.create_task(self._one(gate, lane))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _throughput(self, window: int) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        while self._running:
            await self._launch(gate, window)

    async def _rate(self, rate: float, window: int) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        i = 0
        while self._running:
            delay = t0 + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._launch(gate, window)
            i += 1
