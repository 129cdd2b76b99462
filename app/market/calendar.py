"""NSE trading time: sessions, the bar grid of each interval, and stepping bars across nights,
weekends and exchange holidays.

Sessions are 09:15-15:30 Asia/Kolkata on the exchange days of exchange_calendars' XBOM
calendar (NSE and BSE share their trading holidays). That calendar is maintained a year or so
ahead; outside its range we fall back to Monday-Friday sessions without holidays, and say so
once in the log. Intraday bars are aligned to the session open; a bar's close is its open plus
the interval, cut at the session close (10m bars end with a 5-minute bar at 15:25-15:30).
A 1d bar spans the whole session. All timestamps are UTC epoch seconds.
"""

from __future__ import annotations

import functools
import logging
import warnings
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

import exchange_calendars as xcals
import numpy as np
import numpy.typing as npt
import pandas as pd

from app.market.intervals import Interval

log = logging.getLogger(__name__)

IST = timezone(timedelta(hours=5, minutes=30))
IST_OFFSET = 5 * 3600 + 30 * 60
SESSION_OPEN_UTC = 3 * 3600 + 45 * 60  # 09:15 IST
SESSION_CLOSE_UTC = 10 * 3600  # 15:30 IST
DAY = 86400

Timestamps = npt.NDArray[np.int64]


class BarClock(Protocol):
    """What the predictor needs of time: where bar closes fall, and stepping over bars."""

    def shift(self, interval: Interval, close_ts: int, steps: int) -> int:
        """The close of the bar `steps` bars after the bar that closes at `close_ts`."""
        ...


@functools.lru_cache(maxsize=1)
def _exchange_calendar() -> xcals.ExchangeCalendar:
    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads Series.values of tz-aware dates, which pandas 3.1
        # deprecates (Pandas4Warning); harmless to us, and an error under pytest.
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray", category=DeprecationWarning)
        return xcals.get_calendar("XBOM")


class NseCalendar:
    """The NSE session calendar and bar grids, cached by calendar year."""

    def __init__(self) -> None:
        self._xc = _exchange_calendar()
        self._warned = False
        self._grids: dict[tuple[str, int], tuple[Timestamps, Timestamps]] = {}

    # --- sessions -----------------------------------------------------------------------

    def sessions(self, year: int) -> tuple[Timestamps, Timestamps]:
        """Open and close times of every session in a calendar year (IST dates)."""
        first, last = date(year, 1, 1), date(year, 12, 31)
        cal_first = self._xc.first_session.date()
        cal_last = self._xc.last_session.date()
        days: list[date] = []
        lo, hi = max(first, cal_first), min(last, cal_last)
        if lo <= hi:
            days += [ts.date() for ts in self._xc.sessions_in_range(pd.Timestamp(lo), pd.Timestamp(hi))]
        fallback = [d for d in pd.date_range(first, last, freq="B").date if d < cal_first or d > cal_last]
        if fallback and not self._warned:
            self._warned = True
            log.warning(
                "NSE calendar covers %s..%s; outside it sessions are assumed Monday-Friday without holidays",
                cal_first,
                cal_last,
            )
        days = sorted(days + fallback)
        midnights = np.array(
            [int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp()) for d in days], dtype=np.int64
        )
        return midnights + SESSION_OPEN_UTC, midnights + SESSION_CLOSE_UTC

    # --- bar grids ----------------------------------------------------------------------

    def bar_grid(self, interval: Interval, year: int) -> tuple[Timestamps, Timestamps]:
        """Opens and closes of every bar of `interval` in a calendar year, in order."""
        key = (interval.name, year)
        grid = self._grids.get(key)
        if grid is None:
            opens, closes = self.sessions(year)
            if not interval.intraday:
                grid = (opens, closes)
            else:
                per_session = -(-(SESSION_CLOSE_UTC - SESSION_OPEN_UTC) // interval.seconds)
                offsets = np.arange(per_session, dtype=np.int64) * interval.seconds
                bar_opens = (opens[:, None] + offsets[None, :]).ravel()
                bar_closes = np.minimum(bar_opens + interval.seconds, np.repeat(closes, per_session))
                grid = (bar_opens, bar_closes)
            self._grids[key] = grid
        return grid

    def bar_closes(self, interval: Interval, start: int, end: int) -> Timestamps:
        """Close times of the bars closing within [start, end]."""
        years = range(_year(start), _year(end) + 1)
        closes = np.concatenate([self.bar_grid(interval, y)[1] for y in years])
        return closes[(closes >= start) & (closes <= end)]

    def next_bar_close(self, interval: Interval, ts: int) -> int:
        """The first bar close strictly after `ts`."""
        year = _year(ts)
        for y in (year, year + 1):
            closes = self.bar_grid(interval, y)[1]
            i = int(np.searchsorted(closes, ts, side="right"))
            if i < len(closes):
                return int(closes[i])
        raise ValueError(f"no bar close after {ts}")

    def shift(self, interval: Interval, close_ts: int, steps: int) -> int:
        year = _year(close_ts)
        closes = self.bar_grid(interval, year)[1]
        i = int(np.searchsorted(closes, close_ts, side="left"))
        if i >= len(closes) or closes[i] != close_ts:
            raise ValueError(f"{close_ts} is not a {interval.name} bar close in NSE trading time")
        j = i + steps
        while j >= len(closes):  # into the next year's grid, built only when needed
            j -= len(closes)
            year += 1
            closes = self.bar_grid(interval, year)[1]
        return int(closes[j])


def session_open_on(ts: int) -> int:
    """09:15 IST of the IST date of `ts`: where that date's session opens (if it is a trading day)."""
    return (ts + IST_OFFSET) // DAY * DAY + SESSION_OPEN_UTC


def _year(ts: int) -> int:
    return datetime.fromtimestamp(ts, IST).year


class ObservedCalendar:
    """Trading time as a data set saw it: the bar closes present in the data, in order.

    Backtests over stored candles step over the bars that exist, so an exchange's own holidays
    (or another exchange's data) need no calendar of their own.
    """

    def __init__(self, closes: npt.ArrayLike) -> None:
        closes = np.asarray(closes, dtype=np.int64)
        # A data set's closes come sorted and distinct: np.unique would sort them again.
        self._closes = closes if (np.diff(closes) > 0).all() else np.unique(closes)
        self._shifted: dict[tuple[int, int], npt.NDArray[np.int64]] = {}

    def shift(self, interval: Interval, close_ts: int, steps: int) -> int:
        i = int(np.searchsorted(self._closes, close_ts, side="left"))
        if i >= len(self._closes) or self._closes[i] != close_ts:
            raise ValueError(f"{close_ts} is not a bar close of this data")
        return int(self.shifted(interval, steps)[i])

    def shifted(self, interval: Interval, steps: int) -> npt.NDArray[np.int64]:
        """`shift` of every bar close, in order: the close `steps` bars later, and beyond the
        data's last bar, `steps` intervals on from it."""
        key = (interval.seconds, steps)
        if key not in self._shifted:
            closes = self._closes
            beyond = closes[-1] + interval.seconds * np.arange(1, steps + 1, dtype=np.int64)
            self._shifted[key] = np.concatenate([closes[steps:], beyond[max(0, steps - len(closes)) :]])
        return self._shifted[key]
