"""A minute's candles, the NSE 1-minute grid, and the BarSet that hands a minute on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

import numpy as np

from app.market.bars import BarSet
from app.market.calendar import IST, NseCalendar
from app.market.intervals import CANONICAL

MINUTE = 60
ONE_MINUTE = CANONICAL["1m"]


class Candle(NamedTuple):
    """One instrument's 1-minute candle; `open_ts` is the minute's start (epoch s). A tuple: the
    feed builds one per I1 candle of every full-mode message, and tuples are cheap to build."""

    open_ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def minute_opens(calendar: NseCalendar, after: int, until: int) -> list[int]:
    """Opens of the NSE 1m bars with after < open and open + 60 <= until, in order."""
    if until <= after:
        return []
    opens: list[int] = []
    for year in range(datetime.fromtimestamp(after, IST).year, datetime.fromtimestamp(until, IST).year + 1):
        grid_opens, grid_closes = calendar.bar_grid(ONE_MINUTE, year)
        lo = int(np.searchsorted(grid_opens, after, side="right"))
        hi = int(np.searchsorted(grid_closes, until, side="right"))
        opens += grid_opens[lo:hi].tolist()
    return opens


def bar_set(instruments: Sequence[str], open_ts: int, candles: Mapping[str, Candle]) -> BarSet:
    """The BarSet of one minute: NaN for an instrument without a candle."""
    prices = np.full((5, len(instruments)), np.nan)
    for i, key in enumerate(instruments):
        c = candles.get(key)
        if c is not None:
            prices[:, i] = (c.open, c.high, c.low, c.close, c.volume)
    o, h, l, c_, v = prices
    return BarSet(ONE_MINUTE, open_ts, open_ts + MINUTE, tuple(instruments), o, h, l, c_, v)
