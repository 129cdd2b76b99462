"""Exchange time for the feeds: when "now" is, and waiting for a moment on that clock.

Feeds never read the system time; they get a `Clock`:

- `SimulatedClock` runs exchange time `speed` times faster than the wall (60: a 1-minute bar
  every second) from a chosen session open, and jumps over nights, weekends and holidays at
  once: only trading time takes wall time. `speed=math.inf` jumps straight to every moment
  a feed waits for (as fast as possible).
- `ManualClock` moves only when a test tells it to (`advance_to`, `step`), and lets the test
  wait until a feed is waiting on it, so tests synchronise on events, never on sleeps.
- `WallClock` is real time, for live feeds.

All times are UTC epoch seconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import numpy as np

from app.market.calendar import IST, NseCalendar, Timestamps


class Clock(Protocol):
    """Exchange time as a feed sees it."""

    def now(self) -> float:
        """The current exchange time, UTC epoch seconds."""
        ...

    async def sleep_until(self, ts: float) -> None:
        """Return once `now() >= ts` (at once when that is already so)."""
        ...


def last_session_open(calendar: NseCalendar, now: float) -> int:
    """The open of the latest NSE session that opened at or before `now`."""
    year = datetime.fromtimestamp(now, IST).year
    for y in range(year, year - 3, -1):
        opens, _ = calendar.sessions(y)
        i = int(np.searchsorted(opens, now, side="right"))
        if i > 0:
            return int(opens[i - 1])
    raise ValueError(f"no NSE session opens before {now}")


class TradingTime:
    """Seconds of NSE trading time elapsed since `origin`, and back.

    `elapsed(ts)` counts only the seconds inside sessions between `origin` and `ts`;
    `at(seconds)` is the exchange time at which that much trading time has passed. At a
    session's close `at` answers the close, never the next open: the last bar of a day
    closes before the clock jumps to the next morning.
    """

    def __init__(self, calendar: NseCalendar, origin: float) -> None:
        self.calendar = calendar
        self.origin = origin
        self._first_year = time.gmtime(origin).tm_year
        self._last_year = self._first_year - 1
        self._opens: Timestamps = np.empty(0, dtype=np.int64)
        self._closes: Timestamps = np.empty(0, dtype=np.int64)
        self._cum = np.empty(0, dtype=np.float64)  # trading seconds up to each session's close
        self._extend(self._first_year)

    def elapsed(self, ts: float) -> float:
        if ts <= self.origin:
            return 0.0
        self._cover_time(ts)
        i = int(np.searchsorted(self._opens, ts, side="right")) - 1
        if i < 0:
            return 0.0
        start = max(float(self._opens[i]), self.origin)
        before = float(self._cum[i - 1]) if i > 0 else 0.0
        return before + min(max(min(ts, float(self._closes[i])) - start, 0.0), float(self._cum[i]) - before)

    def at(self, seconds: float) -> float:
        if seconds <= 0:
            return self.origin
        while self._cum[-1] < seconds:
            self._extend(self._last_year + 1)
        j = int(np.searchsorted(self._cum, seconds, side="left"))
        before = float(self._cum[j - 1]) if j > 0 else 0.0
        return max(float(self._opens[j]), self.origin) + (seconds - before)

    def _cover_time(self, ts: float) -> None:
        while self._closes[-1] < ts:
            self._extend(self._last_year + 1)

    def _extend(self, year: int) -> None:
        for y in range(self._last_year + 1, year + 1):
            opens, closes = self.calendar.sessions(y)
            self._opens = np.concatenate([self._opens, opens])
            self._closes = np.concatenate([self._closes, closes])
        self._last_year = max(self._last_year, year)
        durations = np.clip(self._closes - np.maximum(self._opens, self.origin), 0, None).astype(np.float64)
        self._cum = np.cumsum(durations)
        if len(self._cum) == 0 or self._cum[-1] <= 0:  # origin after every session so far
            self._extend(self._last_year + 1)


class SimulatedClock:
    """Exchange time at `speed` x the wall clock, trading time only, from a session open.

    :param start: exchange time to start at. Outside a session, the clock stays there until
        the first trading second, which is the next session open. Default: the latest NSE
        session open at or before the wall-clock time.
    :param speed: exchange seconds per wall second (> 0); `math.inf` for no waiting at all.
    :param calendar: the NSE calendar (sessions, holidays).
    :param monotonic: the wall clock that paces it (seconds, monotonic).
    :param epoch_time: the wall-clock epoch time, read once for the default `start`.
    :param anchor: the wall-clock epoch time at which exchange time stood at `start`; clocks of
        several processes with the same anchor agree. Default: now.
    """

    def __init__(
        self,
        start: float | None = None,
        *,
        speed: float = 60.0,
        calendar: NseCalendar | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        epoch_time: Callable[[], float] = time.time,
        anchor: float | None = None,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0 (exchange seconds per wall second), got {speed}")
        self.calendar = calendar or NseCalendar()
        if start is None:
            start = last_session_open(self.calendar, epoch_time() if anchor is None else anchor)
        self.start = start
        self._trading = TradingTime(self.calendar, start)
        self.speed = speed
        self._monotonic = monotonic
        self._wall0 = monotonic() - (0.0 if anchor is None else max(0.0, epoch_time() - anchor))
        self._instant_now = self.start  # speed=inf: the latest moment waited for

    def now(self) -> float:
        if math.isinf(self.speed):
            return self._instant_now
        return self._trading.at((self._monotonic() - self._wall0) * self.speed)

    async def sleep_until(self, ts: float) -> None:
        if math.isinf(self.speed):
            self._instant_now = max(self._instant_now, ts)
            await asyncio.sleep(0)  # let the rest of the loop run between bars
            return
        target = self._trading.elapsed(ts) / self.speed
        while (remaining := target - (self._monotonic() - self._wall0)) > 0:  # noqa: ASYNC110 (a deadline, not a flag)
            await asyncio.sleep(remaining)


class ManualClock:
    """A clock that moves only when told to; for tests, which wait on it instead of sleeping."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._sleeping = asyncio.Event()

    def now(self) -> float:
        return self._now

    async def sleep_until(self, ts: float) -> None:
        if ts <= self._now:
            await asyncio.sleep(0)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (ts, next(self._order), waiter))
        self._sleeping.set()
        await waiter

    async def next_wakeup(self) -> float:
        """Wait until something sleeps on this clock; the earliest moment anything waits for."""
        while True:
            self._drop_cancelled()
            if self._sleepers:
                return self._sleepers[0][0]
            self._sleeping.clear()
            await self._sleeping.wait()

    def advance_to(self, ts: float) -> None:
        """Move to `ts` (never backwards) and wake everything waiting for a moment up to it."""
        self._now = max(self._now, ts)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, waiter = heapq.heappop(self._sleepers)
            if not waiter.done():
                waiter.set_result(None)

    async def step(self) -> float:
        """Wait for a sleeper, move to the earliest moment waited for, and return it."""
        ts = await self.next_wakeup()
        self.advance_to(ts)
        return ts

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)


class WallClock:
    """Real time: for live feeds."""

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, ts: float) -> None:
        while (remaining := ts - time.time()) > 0:  # noqa: ASYNC110 (a deadline, not a flag)
            await asyncio.sleep(remaining)
