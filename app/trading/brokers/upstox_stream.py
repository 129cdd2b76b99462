"""Upstox's portfolio stream: order updates as the broker learns them.

`GET {base}/v2/feed/portfolio-stream-feed/authorize?update_types=order%2Cposition` answers a
one-use address (wss://; ws:// only for a loopback base URL: `UpstoxRest.authorize_portfolio`),
which streams JSON text messages. Each `update_type: "order"` message is parsed into an
`OrderUpdate` and handed to `on_update`; other update types are not used yet.

The stream runs as one task: read the token (again on every attempt, so a renewed token file or
a 401 is recovered from), authorize, connect, read; on any failure it says why (`down`), waits
(the feed's backoff: `reconnect_delay`) and starts over. The connection is watched like the
market feed's (`FeedConnection`: pings count, nothing heard for `stall_timeout` is a dead link).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from app.core.listeners import Listeners
from app.market.errors import MarketDataError
from app.market.upstox.access_token import AccessToken
from app.market.upstox.connection import FeedConnection
from app.market.upstox.errors import TokenRejected
from app.market.upstox.rest import UpstoxRest
from app.market.upstox.retry import reconnect_delay
from app.trading.brokers.upstox_orders import OrderUpdate

log = logging.getLogger(__name__)


class PortfolioStream:
    """Order updates to `on_update` while connected; `down` says why not (None while up).

    :param token: where the access token comes from (read before every connection).
    :param stall_timeout: seconds with nothing heard, pings included, before reconnecting.
    :param reconnect_min, reconnect_max: the backoff's bounds, seconds.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: AccessToken | None,
        stall_timeout: float = 30.0,
        reconnect_min: float = 1.0,
        reconnect_max: float = 60.0,
    ) -> None:
        self.base_url = base_url
        self._token = token
        self.on_update: Callable[[OrderUpdate], None] | None = None  # the broker attaches itself
        self._stall = stall_timeout
        self._min, self._max = reconnect_min, reconnect_max
        self.down: str | None = "not connected yet"
        self.connections = 0
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._reconnects: Listeners[str] = Listeners("portfolio stream reconnect listener")

    def add_reconnect_listener(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call `listener(why)` each time the stream is connected again after being down (not the
        first connection): updates sent meanwhile are lost, so the caller reconciles."""
        return self._reconnects.add(listener)

    @property
    def up(self) -> bool:
        return self.down is None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="upstox-portfolio-stream")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set(down="stopped")

    async def wait(self, predicate: Callable[[PortfolioStream], bool]) -> None:
        """Until `predicate(self)` holds (woken on every change of state); callers bound it with a timeout."""
        while not predicate(self):
            changed = self._changed
            await changed.wait()

    def _set(self, *, down: str | None) -> None:
        if down != self.down:
            self.down = down
            if down is None:
                log.info("upstox portfolio stream: connected; order updates from the stream")
            elif down == "stopped":
                log.info("upstox portfolio stream stopped")
            else:
                log.warning("upstox portfolio stream down (%s); order details are polled meanwhile", down)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _run(self) -> None:
        rest = UpstoxRest(self.base_url)
        attempt = 0
        try:
            while True:
                try:
                    await self._connection(rest)
                    self._set(down="the stream closed the connection")
                    attempt = 0  # it was up: start the backoff over
                except (MarketDataError, WebSocketException, OSError, TimeoutError) as e:
                    if isinstance(e, ConnectionClosed):
                        attempt = 0
                    self._set(down=str(e) or type(e).__name__)
                await asyncio.sleep(reconnect_delay(attempt, first=self._min, most=self._max))
                attempt += 1
        finally:
            with contextlib.suppress(Exception):
                await rest.aclose()

    async def _connection(self, rest: UpstoxRest) -> None:
        if self._token is None:
            raise TokenRejected("portfolio stream", "no access token: set SIGNALDESK_UPSTOX_ACCESS_TOKEN(_FILE)")
        address = await rest.authorize_portfolio(self._token.read())
        try:
            async with FeedConnection.open(address, stall_timeout=self._stall) as connection:
                self.connections += 1
                was_down = self.down
                self._set(down=None)
                if self.connections > 1:
                    self._reconnects(f"the portfolio stream reconnected (it was down: {was_down})")
                async for message in connection.messages(stall_timeout=self._stall):
                    self._handle(message)
        except InvalidStatus as e:
            if e.response.status_code == 401:
                raise TokenRejected("portfolio stream connect", "the WebSocket handshake was refused") from e
            raise

    def _handle(self, message: str | bytes) -> None:
        """One message: an order update is handed on; anything malformed is logged and skipped."""
        try:
            data = json.loads(message)
        except ValueError:
            log.warning("upstox portfolio stream: a message that is not JSON: %r", message[:200])
            return
        if not isinstance(data, dict) or data.get("update_type") != "order":
            return
        try:
            update = OrderUpdate.parse(data)
        except ValueError as e:
            log.warning("upstox portfolio stream: %s", e)
            return
        if self.on_update is not None:
            self.on_update(update)
