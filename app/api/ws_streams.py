"""A WebSocket's side of a channel subscription: writing, bounding, heartbeats, closing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Protocol

from prometheus_client import Counter, Gauge
from starlette.websockets import WebSocket

from app.api.ws_codes import CloseCode
from app.api.ws_frames import SharedMessage, control_envelope, text_frame, text_frames
from app.api.ws_transport import RAW_FRAMES, FanoutWSProtocol
from app.bus.events import Batch
from app.bus.subscription import ResumeOutcome
from app.events import StreamHeartbeat, StreamReady

log = logging.getLogger(__name__)

HEARTBEAT_CHECKS = 4
OPEN_STREAMS = Gauge("signaldesk_ws_streams", "Open WebSocket streams")
SLOW_CLOSES = Counter("signaldesk_ws_slow_consumer_closes_total", "Streams closed as slow consumers (4500)")


CLOSING = -1  # what a send returns once the connection is closing


class StreamWriter(Protocol):
    """How frames reach one client. Each send returns the bytes still buffered for the client
    after it (accepted, not yet taken by its socket), or CLOSING."""

    def send_batch(self, batch: Batch) -> int:
        """Queue every event of the batch."""
        ...

    def send_message(self, data: bytes) -> int: ...

    def send_shared(self, message: SharedMessage) -> int:
        """Queue a message that many clients get; framed once for all of them."""
        ...

    async def wait_writable(self) -> None: ...

    def close(self, code: int, reason: str) -> None:
        """Drop what is queued and not yet sent, then close; never waits."""
        ...


class RawWriter:
    """Prebuilt frames straight to the socket (FanoutWSProtocol); a batch is framed once for all.

    This is the fan-out's per-client path, run once per client per batch: keep it short.
    """

    def __init__(self, protocol: FanoutWSProtocol) -> None:
        self._protocol = protocol

    def send_batch(self, batch: Batch) -> int:
        return self._protocol.write_frames(batch.encoded(text_frames))

    def send_message(self, data: bytes) -> int:
        return self._protocol.write_frames(text_frame(data))

    def send_shared(self, message: SharedMessage) -> int:
        return self._protocol.write_frames(message.frame)

    async def wait_writable(self) -> None:
        await self._protocol.wait_writable()

    def close(self, code: int, reason: str) -> None:
        self._protocol.close_now(code, reason)


class AsgiWriter:
    """Fallback for ASGI servers without FanoutWSProtocol: one `send` per message from a queue."""

    LOW_WATER = 64 * 1024

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._close: tuple[int, str] | None = None
        self._wakeup = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._task = asyncio.create_task(self._pump())

    def send_batch(self, batch: Batch) -> int:
        buffered = CLOSING
        for event in batch.events:
            buffered = self.send_message(event.data)
        return buffered

    def send_message(self, data: bytes) -> int:
        if self._close is not None:
            return CLOSING
        self._queue.append(data)
        self._queued_bytes += len(data)
        if self._queued_bytes > self.LOW_WATER:
            self._writable.clear()
        self._wakeup.set()
        return self._queued_bytes

    def send_shared(self, message: SharedMessage) -> int:
        return self.send_message(message.data)

    async def wait_writable(self) -> None:
        await self._writable.wait()

    def close(self, code: int, reason: str) -> None:
        if self._close is None:
            self._close = (code, reason)
            self._queue.clear()  # what is not sent yet is dropped: the close goes next
            self._queued_bytes = 0
            self._writable.set()
            self._wakeup.set()

    async def _pump(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    data = self._queue.popleft()
                    self._queued_bytes -= len(data)
                    if self._queued_bytes <= self.LOW_WATER:
                        self._writable.set()
                    await self._websocket.send_text(data.decode())
                if self._close is not None:
                    await self._websocket.close(*self._close)
                    return
        except Exception:  # the client went away; the endpoint sees the disconnect
            self._writable.set()


def writer_for(websocket: WebSocket) -> StreamWriter:
    """The fast writer when the server runs FanoutWSProtocol, else the ASGI fallback."""
    raw = websocket.scope.get("extensions", {}).get(RAW_FRAMES)
    return RawWriter(raw["writer"]) if raw else AsgiWriter(websocket)


class ChannelStream:
    """The bus Subscriber for one WebSocket: frames out, bounded, with heartbeats when idle.

    Ephemeral streams (`resumable=False`, e.g. market) get their frames via `deliver_shared`.
    """

    def __init__(
        self,
        channel: str,
        writer: StreamWriter,
        *,
        max_buffer: int,
        heartbeat_interval: float,
        drain_timeout: float = 30.0,
        resumable: bool = True,
    ) -> None:
        self.channel = channel
        self.resumable = resumable
        self.writer = writer
        self.max_buffer = max_buffer
        self.heartbeat_interval = heartbeat_interval
        self.drain_timeout = drain_timeout
        self.sent = False  # since the heartbeat check last looked
        self.idle_checks = 0
        self.closing = False

    def ready(self, outcome: ResumeOutcome) -> None:
        payload = StreamReady(
            epoch=outcome.epoch,
            head_id=outcome.head_id,
            resumed=outcome.resumed,
            reason=outcome.reason.value if outcome.reason else None,
            heartbeat_interval=self.heartbeat_interval,
        )
        self._control("stream.ready", payload.model_dump(mode="json"))

    def deliver(self, batch: Batch) -> None:
        if not self.closing:
            self._after_send(self.writer.send_batch(batch))

    def deliver_shared(self, message: SharedMessage) -> None:
        if not self.closing:
            self._after_send(self.writer.send_shared(message))

    async def drained(self) -> bool:
        """During a replay: a client that takes nothing for `drain_timeout` is a slow consumer."""
        try:
            await asyncio.wait_for(self.writer.wait_writable(), self.drain_timeout)
        except TimeoutError:
            self._close_slow(f"slow consumer: took nothing for {self.drain_timeout:g}s during replay")
        return not self.closing

    def lost(self) -> None:
        self.close(CloseCode.SERVICE_RESTART, "the event log was replaced; reconnect with after and epoch")

    def heartbeat_if_idle(self) -> None:
        """Called HEARTBEAT_CHECKS times per interval: a heartbeat after a whole interval of silence."""
        if self.sent:
            self.sent = False
            self.idle_checks = 0
            return
        self.idle_checks += 1
        if self.idle_checks >= HEARTBEAT_CHECKS and not self.closing:
            self.idle_checks = 0
            self._control("stream.heartbeat", StreamHeartbeat().model_dump(mode="json"))
            self.sent = False

    def close(self, code: CloseCode, reason: str) -> None:
        if not self.closing:
            self.closing = True
            self.writer.close(code, reason)

    def _control(self, type: str, payload: dict[str, object]) -> None:
        self._after_send(self.writer.send_message(control_envelope(self.channel, type, payload, int(time.time()))))

    def _after_send(self, buffered: int) -> None:
        self.sent = True
        if buffered > self.max_buffer:
            self._close_slow(f"slow consumer: over {self.max_buffer} bytes behind")

    def _close_slow(self, why: str) -> None:
        SLOW_CLOSES.inc()
        log.warning("closing a slow consumer", extra={"channel": self.channel, "why": why})
        advice = "reconnect with after=<last id>" if self.resumable else "reconnect"
        self.close(CloseCode.SLOW_CONSUMER, f"{why}; {advice}")


class StreamRegistry:
    """Every open ChannelStream, for heartbeats, shutdown and ephemeral broadcasts."""

    def __init__(self, heartbeat_interval: float) -> None:
        self.heartbeat_interval = heartbeat_interval
        self._streams: set[ChannelStream] = set()
        self._by_channel: dict[str, set[ChannelStream]] = {}

    def __len__(self) -> int:
        return len(self._streams)

    def count(self, channel: str) -> int:
        return len(self._by_channel.get(channel, ()))

    def add(self, stream: ChannelStream) -> None:
        self._streams.add(stream)
        self._by_channel.setdefault(stream.channel, set()).add(stream)
        OPEN_STREAMS.set(len(self._streams))

    def discard(self, stream: ChannelStream) -> None:
        self._streams.discard(stream)
        self._by_channel.get(stream.channel, set()).discard(stream)
        OPEN_STREAMS.set(len(self._streams))

    def broadcast(self, channel: str, message: SharedMessage) -> int:
        """The same message to every open stream of `channel` (ephemeral streams); how many got it."""
        streams = list(self._by_channel.get(channel, ()))
        for stream in streams:
            stream.deliver_shared(message)
        return len(streams)

    async def run_heartbeats(self) -> None:
        """Check streams HEARTBEAT_CHECKS times per interval: a stream silent for a whole interval
        gets a heartbeat at most 1/HEARTBEAT_CHECKS of an interval late."""
        while True:
            await asyncio.sleep(self.heartbeat_interval / HEARTBEAT_CHECKS)
            for stream in list(self._streams):
                stream.heartbeat_if_idle()

    def close_all(self, code: CloseCode, reason: str) -> None:
        for stream in list(self._streams):
            stream.close(code, reason)
