"""Compile the predictor's numba kernels into their disk cache (or load them from it): `make`
runs `python -m app.predictor.compile` when it builds the venv, so neither the tests nor the
first predictor start pay the compile; the predictor loads the live step's at start
(`load_live_kernels`), a backtest the replay's before it times it (`load_replay_kernels`).
Apart from kernels.py, which the core imports: this drives a core."""

from __future__ import annotations

import functools

import numpy as np


def compile_all() -> None:
    """Compile every kernel (or load it from the cache) with the types the core passes them:
    a few random bars through a core stepped as live, then replayed, with every model; and the
    evaluation's sort.
    `make` runs this when it builds the venv (`python -m app.predictor.compile`), so neither
    the tests nor the first predictor start pay the compile (~7 s of CPU for the live step,
    ~16 s with the replay, holding the GIL)."""
    from app.predictor.kernels import stable_argsort

    _drive_a_core(replay=False)
    _drive_a_core(replay=True)
    stable_argsort(np.zeros(2))  # the forecast evaluation's sort


def load_live_kernels() -> None:
    """The kernels a live step calls, loaded from the cache (compiled if it is cold), with
    numba itself: the predictor does this when it starts, not at its first bar. So the first
    cycle does not wait ~0.4 s for them, and a server that starts the predictor at boot has
    numba's ~90,000 objects in the start-up heap it freezes (app.core.heap.settle) rather
    than in the collector's generations (a 30-50 ms collection some 30 cycles in, and a
    larger heap for every full one after)."""
    _drive_a_core(replay=False)


@functools.cache
def load_replay_kernels() -> None:
    """The replay's kernels loaded from the cache (compiled if it is cold), once a process: a
    backtest times its replay after this, so the bars/s it reports are the replay's, not
    numba's loading (~0.4 s, which made a one-instrument year read 125,000 bars/s instead of
    ~1,000,000 on the command line)."""
    _drive_a_core(replay=True)


def _drive_a_core(*, replay: bool) -> None:
    from app.market.bars import iter_bar_sets
    from app.market.calendar import ObservedCalendar
    from app.market.intervals import parse_interval
    from app.predictor.core import PredictorCore
    from app.predictor.models import MODEL_KINDS, make_model

    minute = parse_interval("1m")
    close = 100.0 * np.exp(np.cumsum(np.random.default_rng(0).normal(0.0, 0.001, (40, 2)), axis=0))
    close_ts = 60 * np.arange(1, 41)
    instruments = ("A", "B")
    core = PredictorCore(
        instruments,
        minute,
        horizons=(1, 5),
        models=[make_model(kind) for kind in MODEL_KINDS],
        clock=ObservedCalendar(close_ts),
    )
    if replay:
        core.replay(close)
    else:
        ohlcv = dict.fromkeys(("open", "high", "low", "close", "volume"), close)
        for bars in iter_bar_sets(minute, instruments, close_ts - 60, close_ts, ohlcv):
            core.step(bars)


if __name__ == "__main__":
    compile_all()
