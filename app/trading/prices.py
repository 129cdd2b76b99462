"""What the engine knows of the market: each instrument's latest bar and its recent volatility.

Volatility is the exponentially weighted RMS of one-bar log returns (close to close), span
`span` bars, vectorised over the whole universe. It is known once an instrument has
`min_bars` returns; before that the strategy does not size an entry for it.

Live, `PriceBook` folds in one BarSet at a time. A backtest knows every bar up front:
`PriceTape` computes the same state for every bar at once, vectorised along time, and its
`update` jumps to a bar's state, so the backtest may hand the engine only the bars where
something can happen (app.trading.backtest). Both give the same numbers, to the bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.market.bars import BarSet, Prices


@dataclass(frozen=True, slots=True)
class Quote:
    """One instrument's bar as the engine uses it (rupees; bar open/close UTC epoch seconds),
    built for every bar a trade or a signal is priced at."""

    open: float
    high: float
    low: float
    close: float
    open_ts: int
    close_ts: int

    def __init__(self, open: float, high: float, low: float, close: float, open_ts: int, close_ts: int) -> None:
        # written out: compiled, the __init__ dataclasses generates runs interpreted (app.trading.native)
        object.__setattr__(self, "open", open)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "close", close)
        object.__setattr__(self, "open_ts", open_ts)
        object.__setattr__(self, "close_ts", close_ts)


class PriceBook:
    """Latest bar and EWMA volatility per instrument of a fixed universe.

    :param instruments: the universe, in the order of the BarSets that will be fed.
    :param span: EWMA span in bars (alpha = 2 / (span + 1)).
    :param min_bars: returns needed before `volatility` answers.
    """

    def __init__(self, instruments: tuple[str, ...], *, span: int = 20, min_bars: int = 5) -> None:
        if span < 1 or min_bars < 1:
            raise ValueError("span and min_bars must be >= 1")
        self.instruments = instruments
        self.index = {key: i for i, key in enumerate(instruments)}
        self.alpha = 2.0 / (span + 1.0)
        self.min_bars = min_bars
        n = len(instruments)
        self._last_close = np.full(n, np.nan)
        self._var = np.zeros(n)
        self._count = np.zeros(n, dtype=np.int64)
        self._bars: BarSet | None = None
        self._quoted: BarSet | None = None  # the BarSet `_quotes` holds quotes of
        self._quotes: dict[str, Quote | None] = {}

    def update(self, bars: BarSet) -> None:
        """Fold in a BarSet of the same universe (instruments without a bar keep their state)."""
        close = bars.close
        with np.errstate(divide="ignore", invalid="ignore"):
            ret = np.log(close / self._last_close)
        ok = np.isfinite(ret)
        self._var[ok] = np.where(
            self._count[ok] == 0, ret[ok] ** 2, (1 - self.alpha) * self._var[ok] + self.alpha * ret[ok] ** 2
        )
        self._count[ok] += 1
        has = np.isfinite(close)
        self._last_close[has] = close[has]
        self._bars = bars

    def seed(self, history: list[BarSet]) -> None:
        """Warm up from bars seen before the engine started (the feed's recent history)."""
        for bars in history:
            if bars.instruments == self.instruments:
                self.update(bars)

    def volatility(self, key: str) -> float | None:
        """EWMA RMS of one-bar log returns, or None while fewer than `min_bars` were seen."""
        i = self.index.get(key)
        if i is None or self._count[i] < self.min_bars:
            return None
        return math.sqrt(float(self._var[i]))

    def price(self, key: str) -> float | None:
        """The latest close of `key` (None before its first bar)."""
        i = self.index.get(key)
        if i is None:
            return None
        value = float(self._last_close[i])
        return value if math.isfinite(value) else None

    def quote(self, key: str) -> Quote | None:
        """`key`'s bar in the latest BarSet, None when it had none there."""
        return self.quote_in(self._bars, key) if self._bars is not None else None

    def has_bar(self, bars: BarSet, key: str) -> bool:
        """`key` has a bar in `bars` (a BarSet of this universe): `quote_in` is not None."""
        i = self.index.get(key)
        return i is not None and math.isfinite(float(bars.close[i]))

    def quote_in(self, bars: BarSet, key: str) -> Quote | None:
        """`key`'s bar in `bars` (a BarSet of this universe), None when it has none there. The
        quotes of the BarSet asked last are kept: the engine asks for a bar's at its open, then
        (once folded in, as the latest) in every later phase."""
        if bars is not self._quoted:
            self._quoted, self._quotes = bars, {}
        elif key in self._quotes:
            return self._quotes[key]
        i = self.index.get(key)
        close = float(bars.close[i]) if i is not None else math.nan
        quote = (
            Quote(float(bars.open[i]), float(bars.high[i]), float(bars.low[i]), close, bars.open_ts, bars.close_ts)
            if math.isfinite(close)
            else None
        )
        self._quotes[key] = quote
        return quote

    @property
    def last_close_ts(self) -> int | None:
        return self._bars.close_ts if self._bars is not None else None


class PriceTape(PriceBook):
    """A PriceBook over known bars: the state after every bar is computed at construction,
    vectorised, and `update(bars)` jumps to the state after `bars` (which must be one of the
    tape's, matched by close time), whatever bars were skipped before it.

    :param close_ts: each bar's close time (T,), increasing.
    :param close: closes (T, N), NaN where an instrument has no bar.
    """

    def __init__(
        self,
        instruments: tuple[str, ...],
        close_ts: npt.NDArray[np.int64],
        close: Prices,
        *,
        span: int = 20,
        min_bars: int = 5,
    ) -> None:
        super().__init__(instruments, span=span, min_bars=min_bars)
        stamps = np.asarray(close_ts, dtype=np.int64).tolist()
        self._row = {ts: t for t, ts in enumerate(stamps)}  # a bar's close time -> its row
        shape = (len(stamps), len(instruments))
        if close.shape != shape:
            raise ValueError(f"closes must have shape {shape}, got {close.shape}")
        self._closes = np.full(shape, np.nan)
        self._vars = np.zeros(shape)
        self._counts = np.zeros(shape, dtype=np.int64)
        for j in range(len(instruments)):
            self._fill(j, close[:, j])

    def _fill(self, j: int, close: npt.NDArray[np.float64]) -> None:
        """Column j: the latest close, and the EWMA of squared returns as `PriceBook.update` folds it."""
        rows = np.arange(len(close))
        has = np.flatnonzero(np.isfinite(close))
        if len(has) == 0:
            return
        seen = np.searchsorted(has, rows, side="right") - 1
        self._closes[:, j] = np.where(seen >= 0, close[has[np.maximum(seen, 0)]], np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            ret = np.log(close[has[1:]] / close[has[:-1]])
        ok = np.isfinite(ret)
        at, squared = has[1:][ok], ret[ok] ** 2
        if len(at) == 0:
            return
        from scipy.signal import lfilter  # here: the live engine never needs scipy.signal (slow to import)

        # var_0 = r_0^2, then var_k = (1 - alpha) var_{k-1} + alpha r_k^2: the same operations, in
        # the same order, as the one-bar fold (lfilter's y = b0 x + z, z = -a1 y_prev).
        var = np.empty(len(at))
        var[0] = squared[0]
        keep = 1 - self.alpha
        var[1:] = lfilter([self.alpha], [1.0, -keep], squared[1:], zi=[keep * var[0]])[0]
        count = np.searchsorted(at, rows, side="right")
        self._counts[:, j] = count
        self._vars[:, j] = np.where(count > 0, var[np.maximum(count - 1, 0)], 0.0)

    def update(self, bars: BarSet) -> None:
        t = self._row.get(bars.close_ts)
        if t is None:
            raise ValueError(f"no bar closing at {bars.close_ts} on this tape")
        self._last_close, self._var, self._count = self._closes[t], self._vars[t], self._counts[t]
        self._bars = bars
