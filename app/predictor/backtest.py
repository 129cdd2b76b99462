"""Backtest: the live predictor core over stored candles on a simulated clock, into a report.

There is no separate backtest logic: the PredictorCore the live predictor uses runs over the
candles, with time taken from the bars the data has (ObservedCalendar), through
`PredictorCore.replay`: the kernels `step` calls, in one compiled loop over the whole history
(docs/predictor.md, "Speed"). `stepped=True` drives `step` anchor by anchor instead, as live:
the reference a test proves the replay identical to, and the benchmark's baseline.
The report compares every model with and without calibration against the zero-return baseline.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from app.market.bars import Prices, iter_bar_sets
from app.market.calendar import ObservedCalendar
from app.market.intervals import Interval
from app.predictor.compile import load_replay_kernels
from app.predictor.core import SCORE_ROWS, Cycle, History, PredictorCore, Resolution
from app.predictor.evaluation import Panel
from app.predictor.models import MODEL_KINDS, make_model
from app.storage.db import Database
from app.storage.migrate import upgrade_async

OHLCV = ("open", "high", "low", "close", "volume")
REPLAY_THREADS = min(2, os.cpu_count() or 1)
"""Replays `run_backtest` runs side by side by default (by horizon: see its `threads`)."""


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
    stamps = np.unique(
        np.concatenate([f["ts"].to_numpy(np.int64) for f in frames.values()] or [np.array([], np.int64)])
    )
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
class BacktestReport:
    """Sums over all instruments per (horizon, model): rows SCORE_ROWS, one column per model.

    raw = actual_ret - pred_ret (before calibration); adj = error = actual_ret - pred_ret_adj.
    """

    instruments: tuple[str, ...]
    interval: str
    model_kinds: tuple[str, ...]
    anchors: int = 0
    bars: int = 0
    seconds: float = 0.0
    scores: dict[int, np.ndarray] = field(default_factory=dict)
    ups: int = 0
    outcomes: int = 0
    _pending: list[Resolution] = field(default_factory=list)
    _resolved: dict[int, list[tuple[np.ndarray, ...]]] = field(default_factory=dict)

    CHUNK = 1024

    def add(self, cycle: Cycle) -> None:
        """Keep the cycle's resolutions; they are scored in vectorised chunks."""
        self._pending.extend(cycle.resolved)
        if len(self._pending) >= self.CHUNK:
            self.flush()

    def flush(self) -> None:
        """Score the kept resolutions: one stack per horizon, sums over anchors and instruments."""
        by_horizon: dict[int, list[Resolution]] = {}
        for res in self._pending:
            by_horizon.setdefault(res.block.horizon, []).append(res)
        self._pending.clear()
        for horizon, chunk in by_horizon.items():
            ok = np.stack([r.ok for r in chunk])[:, None, :]  # (K, 1, n)
            actual = np.stack([r.actual_ret for r in chunk])[:, None, :]
            pred = np.stack([r.block.pred_ret for r in chunk])  # (K, M, n)
            adj = np.stack([r.block.pred_ret_adj for r in chunk])
            error = np.stack([r.error for r in chunk])
            raw = actual - pred
            sign = np.sign(actual)
            q = np.stack([sign == np.sign(pred), sign == np.sign(adj), np.abs(raw), np.abs(error), raw, error])
            score = self.scores.setdefault(horizon, np.zeros((len(SCORE_ROWS), len(self.model_kinds))))
            score[0] += ok.sum()
            score[1:] += np.where(ok, q, 0.0).sum(axis=(1, 3))
            self.ups += int(((actual > 0) & ok).sum())
            self.outcomes += int(ok.sum())
            stamps = np.array([(r.block.ts_pred, r.block.ts_target) for r in chunk], dtype=np.int64)
            kept = (stamps[:, 0], stamps[:, 1], np.where(ok, adj, np.nan), np.where(ok, actual, np.nan)[:, 0])
            self._resolved.setdefault(horizon, []).append(kept)

    def panels(self) -> list[Panel]:
        """The resolved predictions of every (model, horizon), for app.predictor.evaluation: kept
        by a stepped run, or by a replay that recorded its outcomes (`run_backtest(evaluate=True)`)."""
        self.flush()
        panels = []
        for horizon, parts in sorted(self._resolved.items()):
            ts_pred, ts_target, adj, actual = (np.concatenate(column) for column in zip(*parts, strict=True))
            for m, kind in enumerate(self.model_kinds):
                panels.append(Panel(self.interval, kind, horizon, ts_pred, ts_target, adj[:, m], actual))
        return panels

    def add_history(self, history: History, close_ts: np.ndarray) -> None:
        """Take the sums a replay scored (the same sums `flush` makes of stepped cycles) and, when
        it recorded its outcomes, the resolved predictions `panels` gives (what `flush` keeps of
        stepped cycles: the prediction made at row t resolves at row t + h)."""
        for k, horizon in enumerate(history.horizons):
            self.scores[horizon] = self.scores.get(horizon, 0.0) + history.scores[k]
        self.ups += history.ups
        self.outcomes += history.outcomes
        if not len(history.made):
            return
        stamps = np.asarray(close_ts, dtype=np.int64)
        for k, horizon in enumerate(history.horizons):
            made, resolved = slice(0, max(len(stamps) - horizon, 0)), slice(horizon, None)
            ok = history.ok[resolved, k]  # (R, n)
            adj = np.add(history.pred_ret[made, k], history.calib_bias[made, k])  # (R, M, n)
            np.copyto(adj, np.nan, where=~ok[:, None, :])
            actual = np.where(ok, history.actual_ret[resolved, k], np.nan)
            self._resolved.setdefault(horizon, []).append((stamps[made], stamps[resolved], adj, actual))

    @property
    def up_share(self) -> float:
        """Share of resolved outcomes that went up: a calibrated zero model's hit rate sits near it."""
        self.flush()
        return self.ups / max(self.outcomes, 1)

    def rows(self) -> list[dict[str, object]]:
        """One row per horizon and model, with its MAE relative to the zero-return baseline."""
        self.flush()
        out: list[dict[str, object]] = []
        for horizon, score in sorted(self.scores.items()):
            n = np.maximum(score[0], 1)
            zero = self.model_kinds.index("zero") if "zero" in self.model_kinds else None
            for m, kind in enumerate(self.model_kinds):
                row: dict[str, object] = {
                    "model_kind": kind,
                    "horizon_steps": horizon,
                    "n": int(score[0, m]),
                    "hit_rate": float(score[1, m] / n[m]),
                    "hit_rate_calibrated": float(score[2, m] / n[m]),
                    "mae": float(score[3, m] / n[m]),
                    "mae_calibrated": float(score[4, m] / n[m]),
                    "bias": float(score[5, m] / n[m]),
                    "bias_calibrated": float(score[6, m] / n[m]),
                }
                if zero is not None and score[4, zero] > 0:
                    row["mae_vs_zero"] = float(score[4, m] / score[4, zero])
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
    stepped: bool = False,
    evaluate: bool = False,
    threads: int = REPLAY_THREADS,
) -> BacktestReport:
    """The predictor core over every anchor of `data`; CPU-bound, call it off the event loop.

    :param stepped: step the core anchor by anchor from Python, as live, instead of replaying
        the history in one compiled loop (same numbers, ~100x slower).
    :param evaluate: keep every resolved prediction for `BacktestReport.panels` (the forecast
        evaluation); memory ~ anchors x horizons x models x instruments x 20 bytes.
    :param threads: replays run side by side, each over its share of the horizons (horizons
        never meet in the core: each has its own predictions, model sums and calibration; only
        the features are computed again by each). The kernels release the GIL: one
        instrument-year at two horizons on two cores, 88 -> ~65 ms.
    """
    if stepped or threads < 2:
        shares = [tuple(horizons)]
    else:
        shares = [tuple(horizons[i::threads]) for i in range(min(threads, len(horizons)))]
    cores = [backtest_core(data, interval, horizons=h, models=models, calib_halflife=calib_halflife) for h in shares]
    report = BacktestReport(
        data.instruments, interval.name, cores[0].model_kinds, anchors=len(data.close_ts), bars=data.bars
    )
    if not stepped:
        load_replay_kernels()  # once a process, and not in the replay's time
    started = time.perf_counter()
    if stepped:
        for bars in iter_bar_sets(interval, data.instruments, data.open_ts, data.close_ts, data.ohlcv):
            report.add(cores[0].step(bars))
        report.flush()
    else:
        close = data.ohlcv["close"]
        record: Literal["outcomes"] | bool = "outcomes" if evaluate else False
        if len(cores) == 1:
            histories = [cores[0].replay(close, record=record)]
        else:
            with ThreadPoolExecutor(len(cores), thread_name_prefix="replay") as pool:
                histories = list(pool.map(lambda core: core.replay(close, record=record), cores))
        for history in histories:
            report.add_history(history, data.close_ts)
    report.seconds = time.perf_counter() - started
    return report


def backtest_core(
    data: Aligned, interval: Interval, *, horizons: Sequence[int], models: Sequence[str], calib_halflife: float
) -> PredictorCore:
    """A fresh core over `data`'s instruments, on the data's own clock, one model of each kind given."""
    return PredictorCore(
        data.instruments,
        interval,
        horizons=horizons,
        models=[make_model(kind) for kind in models],
        clock=ObservedCalendar(data.close_ts),
        calib_halflife=calib_halflife,
    )
