"""Synthetic closes for predictor tests: random walks with chosen drift, as BarSets; small cores."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from app.market.bars import BarSet, iter_bar_sets
from app.market.calendar import ObservedCalendar
from app.market.intervals import parse_interval
from app.predictor.core import PredictorCore
from app.predictor.models import MODEL_KINDS, RollingRidge, make_model

MINUTE = parse_interval("1m")


def random_walk(steps: int, n: int, *, seed: int = 0, drift: float = 0.0, vol: float = 0.001) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rets = drift + vol * rng.standard_normal((steps, n))
    return 100.0 * np.exp(np.cumsum(rets, axis=0))


def bar_sets(closes: np.ndarray, start: int = 1_767_225_600) -> tuple[list[BarSet], ObservedCalendar]:
    steps, n = closes.shape
    close_ts = start + 60 * (np.arange(steps) + 1)
    instruments = tuple(f"NSE_EQ|TEST{i:05d}" for i in range(n))
    ohlcv = {"open": closes, "high": closes, "low": closes, "close": closes, "volume": np.ones_like(closes)}
    sets = list(iter_bar_sets(MINUTE, instruments, close_ts - 60, close_ts, ohlcv))
    return sets, ObservedCalendar(close_ts)


def run(core, sets: list[BarSet]) -> Iterator:  # type: ignore[no-untyped-def]
    for bars in sets:
        yield core.step(bars)


def make_core(sets, clock, kinds=MODEL_KINDS, horizons=(1, 5), **kw):  # type: ignore[no-untyped-def]
    """A core over `sets`' instruments with a ridge small enough to fit within a few hundred bars."""
    models = [RollingRidge(window=200, refit_every=5) if k == "ridge" else make_model(k) for k in kinds]
    return PredictorCore(sets[0].instruments, MINUTE, horizons=horizons, models=models, clock=clock, window=300, **kw)


def altered_after(closes: np.ndarray, t: int) -> np.ndarray:
    """`closes` with every close after row `t` moved at random (for the look-ahead tests)."""
    altered = closes.copy()
    altered[t + 1 :] *= np.exp(np.random.default_rng(9).normal(0, 0.05, altered[t + 1 :].shape))
    return altered
