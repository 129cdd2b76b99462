"""One Market Data Feed V3 WebSocket: request frames out, decoded `FeedResponse`s in, and a watchdog.

Requests are BINARY frames whose bytes are JSON `{"guid", "method": "sub" | "unsub" |
"change_mode", "data": {"mode", "instrumentKeys"}}`, as Upstox's SDK sends them. Every server
message is a protobuf `FeedResponse`, decoded with Upstox's generated classes (`proto.feed_v3`).

Upstox sends no heartbeat messages: when it has nothing to stream it sends WebSocket pings. So
every frame counts as a sign of life, pings and pongs included (we ping too, and a live server
answers). The watchdog raises `FeedStalled` when
- nothing at all has been heard for `stall_timeout` seconds (the link is dead), or
- no data message has come for `data_timeout` seconds while the market is open (pings alone
  then mean the feed stopped streaming: the "silent stall").
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

from google.protobuf.message import DecodeError
from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Frame

from app.market.upstox.errors import FeedStalled, UpstoxError
from app.market.upstox.proto import feed_v3

Mode = Literal["full", "ltpc"]
Method = Literal["sub", "unsub", "change_mode"]
SUBSCRIPTION_LIMITS: dict[str, int] = {"full": 2000, "ltpc": 5000}  # keys per connection, one mode alone


def request_frame(method: Method, instrument_keys: Sequence[str], mode: Mode | None = None) -> bytes:
    """The bytes of one request (sent as a binary frame)."""
    data: dict[str, Any] = {"instrumentKeys": list(instrument_keys)}
    if mode is not None:
        data["mode"] = mode
    return json.dumps({"guid": uuid.uuid4().hex, "method": method, "data": data}).encode()


class _HeardConnection(ClientConnection):
    """A client connection that notes when it last received any frame, control frames included."""

    last_heard = 0.0

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame):
            self.last_heard = self.loop.time()
        super().process_event(event)


class FeedConnection:
    """An open feed WebSocket. Use `FeedConnection.open(address, ...)` as an async context."""

    def __init__(self, ws: _HeardConnection) -> None:
        self._ws = ws

    @classmethod
    @asynccontextmanager
    async def open(
        cls, address: str, *, stall_timeout: float, open_timeout: float = 10.0
    ) -> AsyncIterator[FeedConnection]:
        """Connect to an authorized address; we ping every third of `stall_timeout`."""
        async with connect(
            address,
            create_connection=_HeardConnection,
            open_timeout=open_timeout,
            ping_interval=stall_timeout / 3,
            ping_timeout=None,  # the watchdog decides, pongs or not
            max_size=16 * 1024 * 1024,
            close_timeout=1.0,
        ) as ws:
            assert isinstance(ws, _HeardConnection)
            ws.last_heard = ws.loop.time()
            yield cls(ws)

    async def send(self, method: Method, instrument_keys: Sequence[str], mode: Mode | None = None) -> None:
        await self._ws.send(request_frame(method, instrument_keys, mode), text=False)

    async def responses(
        self, *, stall_timeout: float, data_timeout: float, market_open: Callable[[], bool]
    ) -> AsyncIterator[Any]:
        """Decoded `FeedResponse`s until the connection closes (ConnectionClosed) or stalls (FeedStalled)."""
        response_type = feed_v3().FeedResponse
        async for message in self.messages(
            stall_timeout=stall_timeout, data_timeout=data_timeout, market_open=market_open
        ):
            if isinstance(message, str):
                raise UpstoxError("market data feed", f"a text frame where protobuf was expected: {message[:200]!r}")
            try:
                response = response_type.FromString(message)
            except DecodeError as e:
                raise UpstoxError("market data feed", f"a frame that is not a FeedResponse: {e}") from e
            yield response

    async def messages(
        self, *, stall_timeout: float, data_timeout: float = math.inf, market_open: Callable[[], bool] = lambda: False
    ) -> AsyncIterator[str | bytes]:
        """Every data message as it came (text or bytes), watched by the watchdog (see the module
        docstring); the portfolio stream reads its JSON messages here too."""
        loop = asyncio.get_running_loop()
        last_data = loop.time()
        while True:
            now = loop.time()
            silent_until = self._ws.last_heard + stall_timeout
            quiet_until = last_data + data_timeout if market_open() else math.inf
            if now >= silent_until:
                raise FeedStalled(f"nothing heard for {stall_timeout:g} s, not even a ping")
            if now >= quiet_until:
                raise FeedStalled(f"no market data for {data_timeout:g} s while NSE_EQ is open (pings only)")
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
                # arrives as a message does, and the feed would then never stop.
                async with asyncio.timeout(min(silent_until, quiet_until) - now):
                    message = await self._ws.recv()
            except TimeoutError:
                continue  # recv is cancellation-safe; look at the clocks again
            last_data = loop.time()
            yield message
