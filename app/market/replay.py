"""Replay of stored candles as a BarSource, at a chosen speed or as fast as possible.

The candles of every instrument are read once (one store read each, bounded by `start` and
`end`), aligned on bar open time across instruments (NaN where an instrument has no bar at
that time) and yielded in time order, each when its bar closes on the replay's clock. By
default that clock is a `SimulatedClock` starting at the first bar's open: trading time
passes `speed` times faster than real time and nights, weekends and holidays pass at once;
`speed=math.inf` replays without waiting.

A bar's close is its open plus the interval, cut at the NSE session close (the last 10m bar
of a day is 5 minutes long); a daily bar closes at its day's session close.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from app.market.bars import BarSet
from app.market.calendar import DAY, IST_OFFSET, SESSION_CLOSE_UTC, NseCalendar, Timestamps
from app.market.clock import Clock, SimulatedClock
from app.market.errors import BadCandles
from app.market.intervals import Interval

FIELDS = ("open", "high", "low", "close", "volume")


class CandleReader(Protocol):
    """What the replay needs of the candle store (`app.market.candles.CandleStore`)."""

    async def read(
        self, instrument_key: str, interval: Interval, start: int | None = None, end: int | None = None
    ) -> pd.DataFrame:
        """Candles with start <= ts <= end, oldest first: columns ts (bar open, epoch s), open,
        high, low, close, volume, oi."""
        ...


@dataclass(frozen=True, slots=True)
class AlignedCandles:
    """Candles of several instruments on one time axis: arrays of shape (T,) and (T, N)."""

    open_ts: Timestamps
    close_ts: Timestamps
    prices: dict[str, npt.NDArray[np.float64]]  # open, high, low, close, volume


def bar_closes(interval: Interval, open_ts: Timestamps) -> Timestamps:
    """Where the bars opening at `open_ts` close on the NSE grid."""
    if interval.intraday:
        session_close = (open_ts // DAY) * DAY + SESSION_CLOSE_UTC
        closes = open_ts + interval.seconds
        cut = (open_ts < session_close) & (closes > session_close)
        return np.where(cut, session_close, closes)
    ist_midnight = ((open_ts + IST_OFFSET) // DAY) * DAY
    session_close = ist_midnight + SESSION_CLOSE_UTC
    return np.where(session_close > open_ts, session_close, open_ts + DAY)


def align(interval: Interval, frames: Sequence[tuple[str, pd.DataFrame]]) -> AlignedCandles:
    """One time axis (the union of bar opens) with each instrument's candles on it."""
    stamps: list[Timestamps] = []
    for key, frame in frames:
        missing = {"ts", *FIELDS} - set(frame.columns)
        if missing:
            raise BadCandles(key, f"missing columns {sorted(missing)}")
        ts = frame["ts"].to_numpy(dtype=np.int64)
        if len(ts) > 1 and not bool(np.all(np.diff(ts) > 0)):
            raise BadCandles(key, "bar times are not strictly increasing")
        stamps.append(ts)
    axis = np.unique(np.concatenate(stamps)) if stamps else np.empty(0, dtype=np.int64)
    prices = {f: np.full((len(axis), len(frames)), np.nan) for f in FIELDS}
    for j, ((_, frame), ts) in enumerate(zip(frames, stamps, strict=True)):
        rows = np.searchsorted(axis, ts)
        for f in FIELDS:
            prices[f][rows, j] = frame[f].to_numpy(dtype=np.float64)
    return AlignedCandles(axis, bar_closes(interval, axis), prices)


class CandleReplay:
    """A `BarSource` replaying stored candles of `instruments`.

    :param store: the candle store (anything with its `read`).
    :param start: first bar open to replay (epoch s); None: from the first stored bar.
    :param end: last bar open to replay (epoch s); None: to the last stored bar.
    :param speed: exchange seconds per wall second (60: a 1m bar per second); math.inf: no waiting.
    :param clock: paces the replay instead of a SimulatedClock made from `speed`.
    """

    def __init__(
        self,
        store: CandleReader,
        instruments: Sequence[str],
        interval: Interval,
        *,
        start: int | None = None,
        end: int | None = None,
        speed: float = math.inf,
        clock: Clock | None = None,
        calendar: NseCalendar | None = None,
    ) -> None:
        if not instruments or len(set(instruments)) != len(instruments):
            raise ValueError("instruments must be a non-empty sequence of distinct keys")
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.store = store
        self._instruments = tuple(instruments)
        self._interval = interval
        self.start, self.end, self.speed = start, end, speed
        self.clock = clock
        self.calendar = calendar

    @property
    def interval(self) -> Interval:
        return self._interval

    @property
    def instruments(self) -> tuple[str, ...]:
        return self._instruments

    async def load(self) -> AlignedCandles:
        frames = []
        for key in self._instruments:
            frames.append((key, await self.store.read(key, self._interval, start=self.start, end=self.end)))
        return align(self._interval, frames)

    async def __aiter__(self) -> AsyncIterator[BarSet]:
        candles = await self.load()
        if len(candles.open_ts) == 0:
            return
        clock = self.clock or SimulatedClock(
            float(candles.open_ts[0]), speed=self.speed, calendar=self.calendar or NseCalendar()
        )
        o, h, l, c, v = (candles.prices[f] for f in FIELDS)
        for t, (open_ts, close_ts) in enumerate(zip(candles.open_ts.tolist(), candles.close_ts.tolist(), strict=True)):
            await clock.sleep_until(close_ts)
            yield BarSet(self._interval, open_ts, close_ts, self._instruments, o[t], h[t], l[t], c[t], v[t])
