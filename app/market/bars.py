"""Bars as the feeds hand them out: every instrument's bar that closed at one moment."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.market.intervals import Interval

Prices = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class BarSet:
    """The bars of `instruments` for one interval that all closed at `close_ts` (the anchor).

    Arrays are aligned with `instruments`; a NaN close means the instrument has no bar at this
    anchor (halted, no data). Treat the arrays as read-only: many consumers share them.
    """

    interval: Interval
    open_ts: int
    close_ts: int
    instruments: tuple[str, ...]
    open: Prices
    high: Prices
    low: Prices
    close: Prices
    volume: Prices

    def __post_init__(self) -> None:
        n = len(self.instruments)
        for name in ("open", "high", "low", "close", "volume"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"BarSet.{name} must have shape ({n},)")


def iter_bar_sets(
    interval: Interval,
    instruments: tuple[str, ...],
    open_ts: npt.ArrayLike,
    close_ts: npt.ArrayLike,
    ohlcv: dict[str, Prices],
) -> Iterator[BarSet]:
    """BarSets from aligned matrices of shape (T, N) (NaN where an instrument has no bar)."""
    opens = np.asarray(open_ts, dtype=np.int64)
    closes = np.asarray(close_ts, dtype=np.int64)
    o, h, l, c, v = (ohlcv[k] for k in ("open", "high", "low", "close", "volume"))
    for t in range(len(closes)):
        yield BarSet(interval, int(opens[t]), int(closes[t]), instruments, o[t], h[t], l[t], c[t], v[t])
