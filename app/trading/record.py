"""The live and paper record read back over a period of IST dates: its trades and orders, the
closes of the stored candles to mark them with, and its performance (app.trading.performance).

`GET /api/hft/performance` measures it in a worker process (`performance_in_worker`, preloaded
into the job workers' forkserver): a year of a busy paper desk (45,584 trades, 91,168 orders, a
year of 1-minute candles of its five instruments) took 3.2-3.7 s to read and measure, holding
the server's event loop for up to 0.5-0.6 s at a time; the worker reads it itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd

from app.market.calendar import IST
from app.market.candles import CandleStore
from app.market.intervals import Interval
from app.storage.db import with_database
from app.trading.costs import CostModel
from app.trading.errors import BadPeriod
from app.trading.performance import Marks, Performance, measure
from app.trading.store import TradeStore
from app.trading.trades import Trade


def ist_midnight(day: date) -> int:
    return int(datetime.combine(day, time(0), IST).timestamp())


@dataclass(frozen=True, slots=True)
class Period:
    """IST dates `first` to `last`, both included; either may be open."""

    first: date | None = None
    last: date | None = None

    def __post_init__(self) -> None:
        if self.first is not None and self.last is not None and self.first > self.last:
            raise BadPeriod("from", f"{self.first} is after to ({self.last})")

    @property
    def since(self) -> int | None:
        return None if self.first is None else ist_midnight(self.first)

    @property
    def until(self) -> int | None:
        return None if self.last is None else ist_midnight(self.last + timedelta(days=1))


class TradeRecord:
    """The stored record of the engine (live and paper alike), measured.

    :param capital: the rupees the returns are measured on (the paper account's starting funds).
    """

    def __init__(self, store: TradeStore, candles: CandleStore, *, costs: CostModel, capital: float) -> None:
        self.store = store
        self.candles = candles
        self.costs = costs
        self.capital = capital

    async def performance(self, period: Period, interval: Interval | None) -> Performance:
        """The trades entered in `period`, marked at every stored candle of `interval` while open
        (without candles, or without an interval, the equity steps at each exit)."""
        trades = await self.store.trades(limit=None, oldest_first=True, since=period.since, until=period.until)
        orders = (await self.store.orders(trade_ids=[t.trade_id for t in trades], limit=None))[::-1]  # oldest first
        marks = None if interval is None or not trades else await self.marks(trades, interval, period)
        return measure(trades, orders, capital=self.capital, costs=self.costs, marks=marks)

    async def marks(self, trades: list[Trade], interval: Interval, period: Period) -> Marks | None:
        """The closes of the trades' instruments from the first entry on, each carried forward over
        the bars it has none (and back, before its first); None unless candles are stored from the
        first entry's bar to the last fill's."""
        keys = tuple(sorted({t.instrument_key for t in trades}))
        start = period.since if period.since is not None else min(t.entry_ts for t in trades)
        exits = [t.exit_ts for t in trades]
        if period.until is not None:
            end: int | None = period.until - 1
        else:  # to the last exit; while a trade is open, to the latest candle
            end = None if None in exits else max(e or 0 for e in exits)
        frames = [await self.candles.read(key, interval, start, end) for key in keys]
        if all(f.empty for f in frames):
            return None
        ts = np.unique(np.concatenate([f["ts"].to_numpy(np.int64) for f in frames]))
        last_fill = max(t.exit_ts or t.entry_ts for t in trades)
        if ts[0] > min(t.entry_ts for t in trades) or ts[-1] < last_fill:
            return None  # candles missing at either end (not fetched yet): a curve without them would drop trades
        close = pd.DataFrame(np.nan, index=ts, columns=range(len(keys)))
        for i, f in enumerate(frames):
            close.loc[f["ts"].to_numpy(np.int64), i] = f["close"].to_numpy()
        filled = close.ffill().bfill().to_numpy(np.float64)
        return Marks(keys, ts, ts + interval.seconds, filled)


def performance_in_worker(
    url: str, period: Period, interval: Interval | None, costs: CostModel, capital: float, reporter: object
) -> Performance:
    """`TradeRecord.performance` of the record in the database at `url`, as a worker process runs
    it (`reporter`, the worker's, is unused: the answer comes back at once)."""
    return with_database(
        url,
        lambda db: TradeRecord(TradeStore(db), CandleStore(db), costs=costs, capital=capital).performance(
            period, interval
        ),
    )
