"""Compile the predictor's numba kernels into their disk cache (or load them from it): `make`
runs `python -m app.predictor.compile` when it builds the venv, so neither the tests nor the
first predictor start pay the compile. Apart from kernels.py, which the core imports: this
drives a core."""

from __future__ import annotations

import numpy as np


def compile_all() -> None:
    """Compile every kernel (or load it from the cache) with the types the core passes them:
    a few random bars through a core stepped as live, then replayed, with every model.
    `make` runs this when it builds the venv (`python -m app.predictor.compile`), so neither
    the tests nor the first predictor start pay the compile (~7 s of CPU for the live step,
    ~16 s with the replay, holding the GIL)."""
    from app.market.bars import iter_bar_sets
    from app.market.calendar import ObservedCalendar
    from app.market.intervals import parse_interval
    from app.predictor.core import PredictorCore
    from app.predictor.models import MODEL_KINDS, make_model

    minute = parse_interval("1m")
    close = 100.0 * np.exp(np.cumsum(np.random.default_rng(0).normal(0.0, 0.001, (40, 2)), axis=0))
    close_ts = 60 * np.arange(1, 41)
    instruments = ("A", "B")
    for replay in (False, True):
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
