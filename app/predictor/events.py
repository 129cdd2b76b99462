"""A cycle's predictions and outcomes as rows to store and typed events to publish.

The one place `prediction.created` and `prediction.resolved` are built from the core's arrays:
the live predictor publishes them, and the trading backtest hands the very same events to the
engine (`TradingEngine.on_event`), as the live `prediction` channel does. A `ReplayRecord`
holds a whole replay (`PredictorCore.replay`) with what its events are built from, equal to
what stepping the core gives (tests/predictor/test_replayed_events.py): the trade backtest
judges its predictions whole and builds only those the strategy accepts
(app.trading.judged_replay). The numbers come from our own
arrays (`tolist`: Python floats and ints), so the events are built `trusted`, not validated.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from app.events import Calibration, PredictionCreated, PredictionResolved
from app.market.calendar import ObservedCalendar
from app.predictor.calibration import summarise
from app.predictor.core import Block, Cycle, History, PredictorCore

Row = dict[str, Any]


CREATED_COLUMNS = (
    "id",
    "instrument_key",
    "interval",
    "horizon_steps",
    "model_kind",
    "ts_pred",
    "ts_target",
    "close_pred",
    "pred_ret",
    "pred_ret_adj",
    "calib_bias",
    "status",
)
"""A stored prediction's values, in the order of the predictions table's columns (so its insert
takes them as they are: app.storage.bulk.insert_values)."""


class Created(NamedTuple):
    """One block's predictions: the events to publish and the rows to store (tuples of
    CREATED_COLUMNS: the event's fields, `close_pred` and `status`)."""

    events: list[PredictionCreated]
    rows: list[tuple[Any, ...]]


def created_of(core: PredictorCore, block: Block) -> Created:
    """A block's `prediction.created` and their rows, built from its columns at once: no dict
    per row beside the event's fields (a cycle of 500 instruments x 2 horizons: ~1 ms, where
    rows as dicts, then events picked from them, took ~2)."""
    idx = np.flatnonzero(block.made)
    made = idx.tolist()
    close = block.close_pred[idx].tolist()
    keys = [core.instruments[i] for i in made]
    interval, horizon, ts_pred, ts_target = core.interval.name, block.horizon, block.ts_pred, block.ts_target
    trusted = PredictionCreated.trusted
    events: list[PredictionCreated] = []
    rows: list[tuple[Any, ...]] = []
    for m in range(len(block.model_kinds)):
        columns = list(
            zip(
                keys,
                [block.model_kind(m, i) for i in made],
                block.ids[m, idx].tolist(),
                close,
                block.pred_ret[m, idx].tolist(),
                block.pred_ret_adj[m, idx].tolist(),
                block.calib_bias[m, idx].tolist(),
                strict=True,
            )
        )
        events += [
            trusted(
                {
                    "id": pid,
                    "instrument_key": key,
                    "interval": interval,
                    "horizon_steps": horizon,
                    "ts_pred": ts_pred,
                    "ts_target": ts_target,
                    "pred_ret": p,
                    "pred_ret_adj": adj,
                    "calib_bias": bias,
                    "model_kind": kind,
                }
            )
            for key, kind, pid, _, p, adj, bias in columns
        ]
        rows += [
            (pid, key, interval, horizon, kind, ts_pred, ts_target, c, p, adj, bias, "open")
            for key, kind, pid, c, p, adj, bias in columns
        ]
    return Created(events, rows)


def created_events(core: PredictorCore, cycle: Cycle) -> list[PredictionCreated]:
    return [event for block in cycle.created for event in created_of(core, block).events]


def outcomes(core: PredictorCore, cycle: Cycle) -> tuple[list[PredictionResolved], list[Row]]:
    """`prediction.resolved` of every prediction whose target is this cycle's anchor, and the
    expired ones (id, instrument_key, ts_target): no bar at their target to resolve them with."""
    resolved: list[PredictionResolved] = []
    expired: list[Row] = []
    for res in cycle.resolved:
        block = res.block
        calibration = res.calibration
        ok, gone = np.flatnonzero(res.ok), np.flatnonzero(res.expired)
        actual = res.actual_ret[ok].tolist()
        for m in range(len(block.model_kinds)):
            columns = zip(
                ok.tolist(),
                block.ids[m, ok].tolist(),
                actual,
                block.pred_ret_adj[m, ok].tolist(),
                res.error[m, ok].tolist(),
                *(calibration[name][m, ok].tolist() for name in ("n", "bias", "mae", "rmse", "hit_rate")),
                strict=True,
            )
            resolved += [
                _resolved(
                    pid,
                    core.instruments[i],
                    core.interval.name,
                    block.horizon,
                    block.ts_pred,
                    block.ts_target,
                    a,
                    adj,
                    e,
                    n,
                    bias,
                    mae,
                    rmse,
                    hit_rate,
                )
                for i, pid, a, adj, e, n, bias, mae, rmse, hit_rate in columns
            ]
            expired += [
                {"id": pid, "instrument_key": core.instruments[i], "ts_target": block.ts_target}
                for i, pid in zip(gone.tolist(), block.ids[m, gone].tolist(), strict=True)
            ]
    return resolved, expired


def _resolved(
    pid: int,
    key: str,
    interval: str,
    horizon: int,
    ts_pred: int,
    ts_target: int,
    actual: float,
    adj: float,
    error: float,
    n: int,
    bias: float,
    mae: float,
    rmse: float,
    hit_rate: float,
) -> PredictionResolved:
    calibration = Calibration.trusted({"n": n, "bias": bias, "mae": mae, "rmse": rmse, "hit_rate": hit_rate})
    return PredictionResolved.trusted(
        {
            "id": pid,
            "instrument_key": key,
            "interval": interval,
            "horizon_steps": horizon,
            "ts_pred": ts_pred,
            "ts_target": ts_target,
            "actual_ret": actual,
            "pred_ret_adj": adj,
            "error": error,
            "calibration": calibration,
        }
    )


Index = npt.NDArray[np.intp]


class ReplayRecord:
    """A replay recorded whole (`core.replay(close, record=True)` over the bars closing at
    `close_ts`, the core's clock being their ObservedCalendar) with what its events are built
    from: every prediction's id (from `first_id` on, in anchor, horizon, model, instrument order,
    as `step` gives them), target time and adjusted forecast, and the calibration after every
    resolution (a prediction resolves at the row `span[k]` after it). Cells are (anchor,
    horizon, model, instrument) index arrays."""

    def __init__(self, core: PredictorCore, history: History, close_ts: npt.NDArray[np.int64], first_id: int) -> None:
        if not isinstance(core.clock, ObservedCalendar) or not len(history.pred_ret):
            raise ValueError("a replay record needs a replay recorded whole, over the core's ObservedCalendar")
        self.history = history
        self.close_ts = close_ts
        steps, horizons, models, n = history.pred_ret.shape
        self.made = np.broadcast_to(history.made[:, None, None, :], (steps, horizons, models, n))
        self.ok = np.broadcast_to(history.ok[:, :, None, :], (steps, horizons, models, n))
        self.ids = np.full(self.made.shape, -1, dtype=np.int64)
        self.ids[self.made] = np.arange(first_id, first_id + int(self.made.sum()))
        self.span = np.asarray(history.horizons, dtype=np.int64)
        self.targets = np.stack([core.clock.shifted(core.interval, int(h)) for h in self.span], axis=1)  # (T, H)
        self.adj = history.pred_ret + history.calib_bias
        self.keys, self.kinds = np.array(core.instruments, dtype=object), np.array(core.model_kinds, dtype=object)
        self.interval = core.interval.name

    @functools.cached_property
    def calibration(self) -> dict[str, Any]:
        """The calibration after each resolution (`summarise`), by field, per cell."""
        return summarise(self.history.calibration_n, np.moveaxis(self.history.calibration_sums, 2, 0))

    def created(self, t: Index, k: Index, m: Index, i: Index) -> list[PredictionCreated]:
        """`prediction.created` of the predictions made at these cells, in their order."""
        history, interval = self.history, self.interval
        return [
            PredictionCreated.trusted(
                {
                    "id": pid,
                    "instrument_key": key,
                    "interval": interval,
                    "horizon_steps": h,
                    "ts_pred": ts,
                    "ts_target": target,
                    "pred_ret": p,
                    "pred_ret_adj": a,
                    "calib_bias": b,
                    "model_kind": kind,
                }
            )
            for pid, key, h, ts, target, p, a, b, kind in zip(
                self.ids[t, k, m, i].tolist(),
                self.keys[i].tolist(),
                self.span[k].tolist(),
                self.close_ts[t].tolist(),
                self.targets[t, k].tolist(),
                history.pred_ret[t, k, m, i].tolist(),
                self.adj[t, k, m, i].tolist(),
                history.calib_bias[t, k, m, i].tolist(),
                self.kinds[m].tolist(),
                strict=True,
            )
        ]
