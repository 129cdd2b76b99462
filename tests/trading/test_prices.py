"""The backtest's PriceTape gives, at any bar, exactly what the live PriceBook folded up to it."""

from __future__ import annotations

import numpy as np
import pytest

from app.market.bars import BarSet
from app.market.intervals import CANONICAL
from app.trading.prices import PriceBook, PriceTape

KEYS = ("A", "B", "C", "D")


def test_the_tape_jumps_to_the_state_the_book_folds_to_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    steps = 1200
    close = 100 * np.exp(np.cumsum(0.01 * rng.standard_normal((steps, 4)), axis=0))
    close[rng.random((steps, 4)) < 0.1] = np.nan  # bars missing here and there
    close[:100, 2] = np.nan  # an instrument that starts late
    close[:, 3] = np.nan
    close[1000, 3] = 42.0  # one with a single bar
    close_ts = 60 * np.arange(1, steps + 1)
    book, tape = PriceBook(KEYS, span=20, min_bars=5), PriceTape(KEYS, close_ts, close, span=20, min_bars=5)
    checked = 0
    for t in range(steps):
        c = close[t]
        bars = BarSet(CANONICAL["1m"], int(close_ts[t]) - 60, int(close_ts[t]), KEYS, c, c, c, c, c)
        book.update(bars)
        if rng.random() < 0.2 or t == steps - 1:  # the tape skips the rest
            tape.update(bars)
            for key in KEYS:
                assert (tape.price(key), tape.volatility(key)) == (book.price(key), book.volatility(key)), (t, key)
                assert tape.quote(key) == book.quote(key)
            checked += 1
    assert checked > 150 and tape.volatility("A") is not None and tape.volatility("D") is None


def test_the_tape_refuses_a_bar_it_does_not_hold() -> None:
    tape = PriceTape(KEYS, np.array([60, 120]), np.ones((2, 4)))
    nan = np.full(4, np.nan)
    with pytest.raises(ValueError, match="no bar closing at 90"):
        tape.update(BarSet(CANONICAL["1m"], 30, 90, KEYS, nan, nan, nan, nan, nan))
    with pytest.raises(ValueError, match="closes must have shape"):
        PriceTape(KEYS, np.array([60]), np.ones((2, 4)))


def test_a_quote_is_always_the_bar_set_s_asked_about_never_one_kept_from_another() -> None:
    def bar_set(t: int, close: list[float]) -> BarSet:
        c = np.array(close)
        return BarSet(CANONICAL["1m"], 60 * t, 60 * (t + 1), KEYS, c - 1, c + 2, c - 3, c, c)

    first, second = bar_set(0, [10.0, np.nan, 30.0, 40.0]), bar_set(1, [11.0, 21.0, np.nan, 41.0])
    book = PriceBook(KEYS)

    def expected(bars: BarSet, key: str) -> tuple[float, ...] | None:
        i = KEYS.index(key)
        if np.isnan(bars.close[i]):
            return None
        return (bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.open_ts, bars.close_ts)

    def got(quote: object) -> tuple[float, ...] | None:
        return (
            None
            if quote is None
            else tuple(getattr(quote, f) for f in ("open", "high", "low", "close", "open_ts", "close_ts"))
        )

    assert book.quote("A") is None  # no bar yet
    for bars in (first, second, first):  # asked at a bar's open, before it is the latest
        for key in KEYS:
            assert got(book.quote_in(bars, key)) == expected(bars, key), (bars.close_ts, key)
            assert book.has_bar(bars, key) == (expected(bars, key) is not None)
    for bars in (first, second):
        book.quote_in(first, "A")  # another BarSet's quotes asked last
        book.update(bars)
        for key in KEYS:
            assert got(book.quote(key)) == expected(bars, key), (bars.close_ts, key)
