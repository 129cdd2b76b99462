"""What the engine knows of the market: each instrument's latest bar and its recent volatility.

Volatility is the exponentially weighted RMS of one-bar log returns (close to close), span
`span` bars, vectorised over the whole universe. It is known once an instrument has
`min_bars` returns; before that the strategy does not size an entry for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.market.bars import BarSet


@dataclass(frozen=True, slots=True)
class Quote:
    """One instrument's bar as the engine uses it (rupees; bar open/close UTC epoch seconds)."""

    open: float
    high: float
    low: float
    close: float
    open_ts: int
    close_ts: int


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
        self._quotes: dict[str, Quote] = {}

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
        self._quotes.clear()  # rebuilt lazily from the latest BarSet

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
        quote = self._quotes.get(key)
        if quote is None and self._bars is not None:
            quote = self.quote_in(self._bars, key)
            if quote is not None:
                self._quotes[key] = quote
        return quote

    def quote_in(self, bars: BarSet, key: str) -> Quote | None:
        """`key`'s bar in `bars` (a BarSet of this universe), None when it has none there."""
        i = self.index.get(key)
        if i is None or not math.isfinite(float(bars.close[i])):
            return None
        return Quote(
            float(bars.open[i]),
            float(bars.high[i]),
            float(bars.low[i]),
            float(bars.close[i]),
            bars.open_ts,
            bars.close_ts,
        )

    @property
    def last_close_ts(self) -> int | None:
        return self._bars.close_ts if self._bars is not None else None
