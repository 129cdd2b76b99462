"""Backtest: the live predictor core over stored candles on a simulated clock, into a report.

There is no separate backtest logic: PredictorCore.step runs exactly as live, fed BarSets
built from the candle store, with time taken from the bars the data has (ObservedCalendar).
The report compares every model with and without calibration against the zero-return baseline.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from app.market.bars import Prices, iter_bar_sets
from app.market.calendar import ObservedCalendar
from app.market.intervals import Interval
from app.predictor.core import Cycle, PredictorCore
from app.predictor.models import MODEL_KINDS, make_model
from app.storage.db import Database
from app.storage.migrate import upgrade_async

OHLCV = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class Aligned:
    """Candles of many instruments on one time axis: matrices (T, N), NaN where a bar is missing."""

    instruments: tuple[str, ...]
    open_ts: np.ndarray
    close_ts: np.ndarray
    ohlcv: dict[str, Prices]

    @property
    def bars(self) -> int:
        return int(np.isfinite(self.ohlcv["close"]).sum())


def align(frames: dict[str, pd.DataFrame], interval: Interval) -> Aligned:
    """Align per-instrument candle frames (columns ts, open, high, low, close, volume) by `ts`.

    A bar's close time is its open `ts` plus the interval for intraday bars; a daily bar is
    identified by its own stamp.
    """
    instruments = tuple(frames)
    stamps = np.unique(np.concatenate([f["ts"].to_numpy(np.int64) for f in frames.values()] or [np.array([], np.int64)]))
    ohlcv = {name: np.full((len(stamps), len(instruments)), np.nan) for name in OHLCV}
    for j, key in enumerate(instruments):
        frame = frames[key]
        rows = np.searchsorted(stamps, frame["ts"].to_numpy(np.int64))
        for name in OHLCV:
            ohlcv[name][rows, j] = frame[name].to_numpy(np.float64)
    close_ts = stamps + interval.seconds if interval.intraday else stamps
    return Aligned(instruments, stamps, close_ts, ohlcv)


async def load_aligned(
    db_url: str, instruments: Sequence[str], interval: Interval, start: int | None, end: int | None
) -> Aligned:
    """Stored candles of `instruments`, aligned; ValueError naming an instrument without any."""
    from app.market.candles import CandleStore

    if not instruments:
        raise ValueError("no instruments given")
    await upgrade_async(db_url)
    db = Database(db_url)
    try:
        store = CandleStore(db)
        frames: dict[str, pd.DataFrame] = {}
        for key in instruments:
            frame = await store.read(key, interval.name, start=start, end=end)
            if frame.empty:
                raise ValueError(
                    f"no {interval.name} candles stored for {key} in that range; "
                    "import some with `signaldesk candles import`"
                )
            frames[key] = frame
    finally:
        await db.close()
    return align(frames, interval)


@dataclass
class ModelScore:
    """Running sums for one model and horizon over all instruments."""

    n: int = 0
    hits_raw: float = 0.0
    hits_adj: float = 0.0
    abs_raw: float = 0.0
    abs_adj: float = 0.0
    sum_raw: float = 0.0  # of actual - pred_ret
    sum_adj: float = 0.0  # of actual - pred_ret_adj

    def row(self) -> dict[str, float]:
        n = max(self.n, 1)
        return {
            "n": self.n,
            "hit_rate": self.hits_raw / n,
            "hit_rate_calibrated": self.hits_adj / n,
            "mae": self.abs_raw / n,
            "mae_calibrated": self.abs_adj / n,
            "bias": self.sum_raw / n,
            "bias_calibrated": self.sum_adj / n,
        }


@dataclass
class BacktestReport:
    instruments: tuple[str, ...]
    interval: str
    anchors: int = 0
    bars: int = 0
    seconds: float = 0.0
    up_share: float = 0.0  # share of resolved actual returns > 0
    scores: dict[tuple[str, int], ModelScore] = field(default_factory=dict)
    _ups: int = 0
    _outcomes: int = 0

    def add(self, cycle: Cycle) -> None:
        for res in cycle.resolved:
            ok = res.ok
            count = int(ok.sum())
            if not count:
                continue
            block = res.block
            actual = res.actual_ret[ok]
            self._ups += int((actual > 0).sum())
            self._outcomes += count
            for m, kind in enumerate(block.model_kinds):
                score = self.scores.setdefault((kind, block.horizon), ModelScore())
                raw = actual - block.pred_ret[m, ok]
                adj = res.error[m, ok]
                score.n += count
                score.hits_raw += float((np.sign(actual) == np.sign(block.pred_ret[m, ok])).sum())
                score.hits_adj += float((np.sign(actual) == np.sign(block.pred_ret_adj[m, ok])).sum())
                score.abs_raw += float(np.abs(raw).sum())
                score.abs_adj += float(np.abs(adj).sum())
                score.sum_raw += float(raw.sum())
                score.sum_adj += float(adj.sum())
        self.up_share = self._ups / max(self._outcomes, 1)

    def rows(self) -> list[dict[str, object]]:
        """One row per model and horizon, with its MAE relative to the zero-return baseline."""
        out: list[dict[str, object]] = []
        for (kind, horizon), score in sorted(self.scores.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            row: dict[str, object] = {"model_kind": kind, "horizon_steps": horizon, **score.row()}
            baseline = self.scores.get(("zero", horizon))
            if baseline is not None and baseline.abs_adj > 0:
                row["mae_vs_zero"] = score.abs_adj / baseline.abs_adj
            out.append(row)
        return out

    @property
    def bars_per_second(self) -> float:
        return self.bars / self.seconds if self.seconds else 0.0


def run_backtest(
    data: Aligned,
    interval: Interval,
    *,
    horizons: Sequence[int] = (1, 5),
    models: Sequence[str] = MODEL_KINDS,
    calib_halflife: float = 100.0,
) -> BacktestReport:
    """Step the predictor core over every anchor of `data`; CPU-bound, call it off the event loop."""
    core = PredictorCore(
        data.instruments,
        interval,
        horizons=horizons,
        models=[make_model(kind) for kind in models],
        clock=ObservedCalendar(data.close_ts),
        calib_halflife=calib_halflife,
    )
    report = BacktestReport(data.instruments, interval.name, anchors=len(data.close_ts), bars=data.bars)
    started = time.perf_counter()
    for bars in iter_bar_sets(interval, data.instruments, data.open_ts, data.close_ts, data.ohlcv):
        report.add(core.step(bars))
    report.seconds = time.perf_counter() - started
    return report
