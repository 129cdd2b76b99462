"""A cycle's predictions and outcomes as rows to store and typed events to publish.

The one place `prediction.created` and `prediction.resolved` are built from the core's arrays:
the live predictor publishes them, and the trading backtest hands the very same events to the
engine (`TradingEngine.on_event`), as the live `prediction` channel does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.events import Calibration, PredictionCreated, PredictionResolved
from app.predictor.core import Block, Cycle, PredictorCore

Row = dict[str, Any]


def created_rows(core: PredictorCore, block: Block) -> list[Row]:
    """The stored rows of one block's predictions (the event's fields, `close_pred` and `status`)."""
    idx = np.flatnonzero(block.made)
    close = block.close_pred[idx].tolist()
    rows: list[Row] = []
    for m in range(len(block.model_kinds)):
        columns = zip(
            idx.tolist(),
            block.ids[m, idx].tolist(),
            close,
            block.pred_ret[m, idx].tolist(),
            block.pred_ret_adj[m, idx].tolist(),
            block.calib_bias[m, idx].tolist(),
            strict=True,
        )
        rows += [
            {
                "id": pid,
                "instrument_key": core.instruments[i],
                "interval": core.interval.name,
                "horizon_steps": block.horizon,
                "ts_pred": block.ts_pred,
                "ts_target": block.ts_target,
                "close_pred": c,
                "pred_ret": p,
                "pred_ret_adj": adj,
                "calib_bias": bias,
                "model_kind": block.model_kind(m, i),
                "status": "open",
            }
            for i, pid, c, p, adj, bias in columns
        ]
    return rows


_CREATED_FIELDS = tuple(PredictionCreated.model_fields)


def created_event(row: Row) -> PredictionCreated:
    """`prediction.created` of a stored row (its fields are the model's; the rest stays in the row)."""
    return PredictionCreated.model_validate({name: row[name] for name in _CREATED_FIELDS})


def created_events(core: PredictorCore, cycle: Cycle) -> list[PredictionCreated]:
    return [created_event(row) for block in cycle.created for row in created_rows(core, block)]


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
                PredictionResolved(
                    id=pid,
                    instrument_key=core.instruments[i],
                    interval=core.interval.name,
                    horizon_steps=block.horizon,
                    ts_pred=block.ts_pred,
                    ts_target=block.ts_target,
                    actual_ret=a,
                    pred_ret_adj=adj,
                    error=e,
                    calibration=Calibration(n=n, bias=bias, mae=mae, rmse=rmse, hit_rate=hit_rate),
                )
                for i, pid, a, adj, e, n, bias, mae, rmse, hit_rate in columns
            ]
            expired += [
                {"id": pid, "instrument_key": core.instruments[i], "ts_target": block.ts_target}
                for i, pid in zip(gone.tolist(), block.ids[m, gone].tolist(), strict=True)
            ]
    return resolved, expired
