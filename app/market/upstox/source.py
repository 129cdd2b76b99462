"""Upstox Market Data Feed V3 as a `BarSource`: 1-minute BarSets of live NSE data.

One connection at a time, supervised:

1. read the token (again on every attempt: a renewed token file is picked up), authorize,
   connect to the one-use address, subscribe (`full` or `ltpc`) to every instrument;
2. turn frames into minutes (`MinuteBuilder`) and hand each closed minute on as a BarSet once
   the server's clock is `grace` seconds past its end, on the NSE 1m grid, NaN for an
   instrument without a bar; a minute without any bar is not handed on;
3. after every (re)connect, the minutes between the last one handed on and the first one seen
   whole on this connection are fetched from the intraday candle API and handed on first, in
   order (on the very first connection, the day's minutes before it, from the session open).
   A minute whose candles cannot be fetched is announced as a `Gap` (state, log);
4. on any failure (drop, stall, 401, refused authorize, bad frame) wait with exponential
   backoff and jitter, and go back to 1.

`state` is a `SourceState` (see `state.py`); `add_state_listener` and `wait_state` follow it.
`add_tick_listener` hands on the ticks of every message (a `TickSource`, see `app.market.ticks`):
each instrument's last trade, `fullFeed.marketFF.ltpc` in full mode, `ltpc` in ltpc mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from websockets.exceptions import InvalidStatus, WebSocketException

from app.core.listeners import Listeners
from app.market.bars import BarSet
from app.market.calendar import NseCalendar, session_open_on
from app.market.intervals import Interval
from app.market.ticks import TickListener
from app.market.upstox.access_token import AccessToken
from app.market.upstox.backfill import fetch_minutes
from app.market.upstox.builder import MinuteBuilder
from app.market.upstox.connection import SUBSCRIPTION_LIMITS, FeedConnection, Mode
from app.market.upstox.errors import FeedStalled, TokenRejected, TokenUnavailable, UnsafeFeedAddress, UpstoxError
from app.market.upstox.minutes import MINUTE, ONE_MINUTE, Candle, bar_set, minute_opens
from app.market.upstox.proto import feed_v3
from app.market.upstox.rest import UpstoxRest
from app.market.upstox.retry import reconnect_delay
from app.market.upstox.state import FeedStatus, Gap, SourceState
from app.market.upstox.token_expiry import expiry_warning, token_expiry

log = logging.getLogger(__name__)

SEGMENT = "NSE_EQ"
OPEN = "NORMAL_OPEN"

StateListener = Callable[[SourceState], None]


@dataclass(frozen=True, slots=True)
class FeedTiming:
    stall_timeout: float = 30.0  # nothing heard, pings included
    data_timeout: float = 60.0  # no market data while NSE_EQ is open
    grace: float = 2.0  # seconds past a minute's end (server clock) before it is closed
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0


class UpstoxBarSource:
    """A `BarSource` of 1m bars of `instruments` from Upstox (see the module docstring)."""

    def __init__(
        self,
        instruments: Sequence[str],
        *,
        token: AccessToken,
        base_url: str,
        mode: Mode = "full",
        timing: FeedTiming | None = None,
        calendar: NseCalendar | None = None,
    ) -> None:
        if not instruments or len(set(instruments)) != len(instruments):
            raise ValueError("instruments must be a non-empty sequence of distinct keys")
        limit = SUBSCRIPTION_LIMITS[mode]
        if len(instruments) > limit:
            raise ValueError(
                f"{len(instruments)} instruments: Upstox's {mode} mode takes at most {limit} per connection"
            )
        self._instruments = tuple(instruments)
        self.mode = mode
        self.token = token
        self.base_url = base_url
        self.timing = timing or FeedTiming()
        self.calendar = calendar or NseCalendar()
        self._state = SourceState(FeedStatus.CONNECTING, time.time())
        self._changed = asyncio.Event()
        self._listeners: Listeners[SourceState] = Listeners("upstox state listener")
        self._tick_listeners: Listeners[dict[str, Any]] = Listeners("upstox tick listener")
        self._resume_after: int | None = None  # open of the last minute handed on
        self._attempt = 0

    @property
    def interval(self) -> Interval:
        return ONE_MINUTE

    @property
    def instruments(self) -> tuple[str, ...]:
        return self._instruments

    # --- state --------------------------------------------------------------------------

    @property
    def state(self) -> SourceState:
        return self._state

    def add_state_listener(self, callback: StateListener) -> Callable[[], None]:
        """Call `callback(state)` on every change; returns the function that removes it."""
        return self._listeners.add(callback)

    async def wait_state(self, predicate: Callable[[SourceState], bool]) -> SourceState:
        """The first state (the current one included) for which `predicate` holds."""
        while not predicate(self._state):
            changed = self._changed
            await changed.wait()
        return self._state

    def _update(self, **changes: Any) -> None:
        status = changes.get("status", self._state.status)
        if status is not self._state.status:
            changes["since"] = time.time()
            log.info("upstox feed: %s%s", status, f" ({changes['error']})" if changes.get("error") else "")
        self._state = replace(self._state, **changes)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        self._listeners(self._state)

    # --- ticks ----------------------------------------------------------------------------

    def add_tick_listener(self, callback: TickListener) -> Callable[[], None]:
        """Call `callback(trades)` inline for every message with trades of our instruments
        (key -> its `LTPC` message); returns the function that removes it."""
        return self._tick_listeners.add(callback)

    # --- the supervisor -----------------------------------------------------------------

    async def __aiter__(self) -> AsyncIterator[BarSet]:
        rest = UpstoxRest(self.base_url)
        try:
            while True:
                try:
                    async for bars in self._connection(rest):
                        yield bars
                    self._update(status=FeedStatus.RECONNECTING, error="the feed closed the connection")
                except TokenRejected as e:
                    self._update(status=FeedStatus.TOKEN_EXPIRED, error=str(e))
                except TokenUnavailable as e:
                    self._update(status=FeedStatus.NO_TOKEN, error=str(e))
                except FeedStalled as e:
                    self._update(status=FeedStatus.STALLED, error=str(e))
                    self._update(status=FeedStatus.RECONNECTING)
                except (UpstoxError, UnsafeFeedAddress, WebSocketException, OSError, TimeoutError) as e:
                    self._update(status=FeedStatus.RECONNECTING, error=f"{type(e).__name__}: {e}")
                await asyncio.sleep(self._backoff())
        finally:
            with contextlib.suppress(Exception):
                await rest.aclose()

    def _backoff(self) -> float:
        """Doubling from reconnect_min up to reconnect_max, times a random 0.5-1 (jitter)."""
        delay = reconnect_delay(self._attempt, first=self.timing.reconnect_min, most=self.timing.reconnect_max)
        self._attempt += 1
        return delay

    async def _connection(self, rest: UpstoxRest) -> AsyncIterator[BarSet]:
        if self._state.status not in (FeedStatus.TOKEN_EXPIRED, FeedStatus.NO_TOKEN):
            self._update(status=FeedStatus.CONNECTING)
        token = self.token.read()
        self._note_token(token)
        address = await rest.authorize_feed(token)
        try:
            opened = FeedConnection.open(address, stall_timeout=self.timing.stall_timeout)
            async with opened as feed:
                self._update(connections=self._state.connections + 1, segment=None)
                await feed.send("sub", self._instruments, self.mode)
                builder = MinuteBuilder(self._instruments, self.mode, grace=self.timing.grace)
                responses = feed.responses(
                    stall_timeout=self.timing.stall_timeout,
                    data_timeout=self.timing.data_timeout,
                    market_open=lambda: self._state.segment == OPEN,
                )
                async for response in responses:
                    self._note_market(response)
                    trades: dict[str, Any] | None = {} if self._tick_listeners else None
                    builder.add(response, trades)
                    if trades:
                        self._tick_listeners(trades)
                    for bars in await self._closed_minutes(builder, rest, token):
                        yield bars
        except InvalidStatus as e:
            if e.response.status_code == 401:
                raise TokenRejected("feed connect", "the WebSocket handshake was refused") from e
            raise

    def _note_token(self, token: str) -> None:
        """The token's expiry and, when it will not last the coming session, a warning (logged once)."""
        expires_at = token_expiry(token)
        warning = expiry_warning(expires_at, self.calendar, time.time())
        if expires_at != self._state.token_expires_at or warning != self._state.warning:
            if warning is not None:
                log.warning("upstox feed: %s", warning)
            self._update(token_expires_at=expires_at, warning=warning)

    def _note_market(self, response: Any) -> None:
        """Live (or market_closed) from the first frame on; NSE_EQ's status from market_info."""
        segment = self._state.segment
        if response.HasField("marketInfo") and SEGMENT in response.marketInfo.segmentStatus:
            segment = feed_v3().MarketStatus.Name(response.marketInfo.segmentStatus[SEGMENT])
        status = FeedStatus.LIVE if segment in (None, OPEN) else FeedStatus.MARKET_CLOSED
        if status is not self._state.status or segment != self._state.segment:
            self._update(status=status, segment=segment, error=None)
        self._attempt = 0

    async def _closed_minutes(self, builder: MinuteBuilder, rest: UpstoxRest, token: str) -> list[BarSet]:
        """The BarSets now due: missed minutes (fetched) first, then closed live ones."""
        closed, first = builder.closed_until(), builder.first_open
        if closed is None or first is None:
            return []
        live_from = first + MINUTE if self.mode == "ltpc" else first  # the first minute seen whole
        if closed < live_from:
            return []  # the missed minutes (the partial one included) are not all closed yet
        if self._resume_after is None:  # the first connection: today's earlier minutes come from the intraday API
            self._resume_after = session_open_on(live_from) - 1
        opens = minute_opens(self.calendar, self._resume_after, closed)
        missed = [m for m in opens if m < live_from]
        fetched: dict[int, dict[str, Candle]] = {}
        if missed:
            backfill = await fetch_minutes(rest, token, self._instruments, missed)
            fetched = backfill.minutes
            if backfill.failed:
                self._announce_gap(missed, backfill.failed)
        out: list[BarSet] = []
        for m in opens:
            candles = builder.take(m)
            if m in fetched:
                candles = {**candles, **fetched[m]}  # Upstox's stored candle over a partial live one
            if candles:
                out.append(bar_set(self._instruments, m, candles))
            self._resume_after = m
        if out:
            self._update(last_bar_close=out[-1].close_ts)
        return out

    def _announce_gap(self, missed: list[int], failed: dict[str, str]) -> None:
        keys = tuple(k for k in self._instruments if k in failed)
        reason = failed[keys[0]]
        gap = Gap(missed[0], missed[-1] + MINUTE, len(missed), keys, reason)
        log.warning(
            "upstox feed: %d missed minute(s) %d..%d could not be fetched for %d instrument(s) (%s): %s",
            gap.minutes,
            gap.first_open,
            gap.last_close,
            len(keys),
            ", ".join(keys[:5]) + (" ..." if len(keys) > 5 else ""),
            reason,
        )
        self._update(gap=gap)
