"""uvicorn's WebSocket protocol with one addition: prebuilt frames go straight to the socket.

Through ASGI every message costs a `send` await and a per-client encode. A fan-out of one
event to a thousand clients should cost one encoding and a thousand `transport.write`s of the
same bytes; this protocol offers that as the ASGI scope extension `RAW_FRAMES`. The endpoint
falls back to plain ASGI sends when a server without it runs the app.
"""

from __future__ import annotations

from collections import deque

from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from wsproto import events
from wsproto.events import CloseConnection

RAW_FRAMES = "signaldesk.raw_frames"


class FanoutWSProtocol(WSProtocol):
    """Use as uvicorn's `ws` protocol class (see app.server.uvicorn_config).

    While the transport is paused (its buffer above the high-water mark), whole frames wait
    in a backlog of our own instead of the transport's: a close can then drop them and go out
    next, so a client closed for falling behind reads the reason after at most a high-water
    mark of bytes, not after the backlog it is closed for.
    """

    def handle_connect(self, event: events.Request) -> None:
        super().handle_connect(event)
        # The ASGI task is created but has not run yet: the scope can still be extended.
        self.scope["extensions"][RAW_FRAMES] = {"writer": self}
        self.backlog: deque[bytes] = deque()
        self.backlog_bytes = 0

    def write_frames(self, data: bytes) -> int:
        """Write complete server frames; the bytes still buffered for the client after (the
        transport's and the backlog's), or -1 once the connection is closing."""
        transport = self.transport
        if self.close_sent or transport.is_closing():
            return -1
        if self.backlog or not self.writable.is_set():
            self.backlog.append(data)
            self.backlog_bytes += len(data)
        else:
            transport.write(data)
        return transport.get_write_buffer_size() + self.backlog_bytes

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.backlog and not self.close_sent and not self.transport.is_closing():
            data = b"".join(self.backlog)
            self.backlog.clear()
            self.backlog_bytes = 0
            self.transport.write(data)

    async def wait_writable(self) -> None:
        await self.writable.wait()

    def close_now(self, code: int, reason: str) -> None:
        """Drop the backlog and send a close frame next, without waiting for the buffer to drain.

        The peer gets the close after what the transport holds already (up to its high-water
        mark); a peer that does not read it within `close_timeout` is cut off.
        """
        self.backlog.clear()
        self.backlog_bytes = 0
        if self.close_sent or self.transport.is_closing():
            return
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.transport.write(self.conn.send(CloseConnection(code=code, reason=reason)))
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)
