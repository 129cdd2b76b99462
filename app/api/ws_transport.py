"""uvicorn's WebSocket protocol with one addition: prebuilt frames go straight to the socket.

Through ASGI every message costs a `send` await and a per-client encode. A fan-out of one
event to a thousand clients should cost one encoding and a thousand `transport.write`s of the
same bytes; this protocol offers that as the ASGI scope extension `RAW_FRAMES`. The endpoint
falls back to plain ASGI sends when a server without it runs the app.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from wsproto import events
from wsproto.events import CloseConnection

RAW_FRAMES = "signaldesk.raw_frames"


class FanoutWSProtocol(WSProtocol):
    """Use as uvicorn's `ws` protocol class (see app.server.uvicorn_config)."""

    def handle_connect(self, event: events.Request) -> None:
        super().handle_connect(event)
        # The ASGI task is created but has not run yet: the scope can still be extended.
        self.scope["extensions"][RAW_FRAMES] = {"writer": self}

    def write_frames(self, data: bytes) -> int:
        """Write complete server frames; the bytes the transport still buffers after, or -1
        once the connection is closing."""
        transport = self.transport
        if self.close_sent or transport.is_closing():
            return -1
        transport.write(data)
        return transport.get_write_buffer_size()

    async def wait_writable(self) -> None:
        await self.writable.wait()

    def close_now(self, code: int, reason: str) -> None:
        """Queue a close frame behind what is buffered, without waiting for the buffer to drain.

        The peer gets the close after everything sent before it; a peer that does not read
        it within `close_timeout` is cut off.
        """
        if self.close_sent or self.transport.is_closing():
            return
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.transport.write(self.conn.send(CloseConnection(code=code, reason=reason)))
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)
