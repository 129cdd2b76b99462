"""`evaluate` (how recent predictions did), `prune` (retention), `square_off` (flatten before the close)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import delete, func, select

from app.automation.deps import AutomationDeps
from app.automation.params import EvaluateParams, PruneParams, SquareOffParams
from app.jobs.context import JobContext
from app.jobs.errors import JobFailed
from app.predictor.tables import Prediction

DAY = 86_400


async def evaluate(ctx: JobContext, params: EvaluateParams, deps: AutomationDeps) -> dict[str, Any]:
    """Per (instrument, interval, horizon, model): n, MAE against the zero-return baseline's,
    bias, hit rate, and calibration (mean predicted vs mean actual per quantile bin of
    pred_ret_adj) of resolved predictions within `window` seconds of the newest one."""
    p = Prediction
    async with deps.db.session() as s:
        newest = (await s.execute(select(func.max(p.ts_pred)).where(p.status == "resolved"))).scalar_one_or_none()
        if newest is None:
            return {"groups": 0, "predictions": 0, "report": [], "message": "no resolved predictions yet"}
        query = select(p.instrument_key, p.interval, p.horizon_steps, p.model_kind, p.pred_ret_adj, p.actual_ret).where(
            p.status == "resolved", p.ts_pred >= newest - params.window
        )
        if params.instrument_key is not None:
            query = query.where(p.instrument_key == params.instrument_key)
        if params.interval is not None:
            query = query.where(p.interval == params.interval)
        rows = (await s.execute(query)).all()
    await ctx.progress(0.5, f"scoring {len(rows)} resolved predictions")
    groups: dict[tuple[str, str, int, str], list[tuple[float, float]]] = {}
    for key, interval, h, kind, pred, actual in rows:
        assert actual is not None  # a resolved prediction has its actual_ret
        groups.setdefault((key, interval, h, kind), []).append((pred, actual))
    report = [_score(group, np.array(values), params.bins) for group, values in sorted(groups.items())]
    return {
        "groups": len(report),
        "predictions": len(rows),
        "window": params.window,
        "newest_ts_pred": newest,
        "report": report,
    }


def _score(group: tuple[str, str, int, str], values: np.ndarray, bins: int) -> dict[str, Any]:
    pred, actual = values[:, 0], values[:, 1]
    mae = float(np.mean(np.abs(actual - pred)))
    base = float(np.mean(np.abs(actual)))
    edges = np.quantile(pred, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, bins - 1)
    calibration = [
        {
            "n": int((which == b).sum()),
            "mean_pred": float(pred[which == b].mean()),
            "mean_actual": float(actual[which == b].mean()),
        }
        for b in range(bins)
        if (which == b).any()
    ]
    key, interval, horizon, kind = group
    return {
        "instrument_key": key,
        "interval": interval,
        "horizon_steps": horizon,
        "model_kind": kind,
        "n": len(pred),
        "mae": mae,
        "baseline_mae": base,
        "mae_ratio": mae / base if base > 0 else None,
        "bias": float(np.mean(actual - pred)),
        "hit_rate": float(np.mean(np.sign(actual) == np.sign(pred))),
        "calibration": calibration,
    }


async def prune(ctx: JobContext, params: PruneParams, deps: AutomationDeps) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    if params.events:
        stats["events_deleted"] = await deps.bus.prune()  # type: ignore[union-attr]
    await ctx.progress(0.3, "events pruned", stats=stats)
    p = Prediction
    async with deps.db.session() as s:
        newest = (await s.execute(select(func.max(p.ts_pred)))).scalar_one_or_none()
        deleted = 0
        if newest is not None:
            cutoff = newest - params.predictions_max_age * DAY
            result = await s.execute(delete(p).where(p.ts_pred < cutoff, p.status != "open"))
            deleted = int(result.rowcount or 0)  # type: ignore[attr-defined]
    stats["predictions_deleted"] = deleted
    await ctx.progress(0.6, "predictions pruned", stats=stats)
    doomed = await deps.registry.unpromoted_beyond(params.models_keep)
    await deps.registry.delete(doomed)
    stats["models_deleted"] = len(doomed)
    return stats


async def square_off(ctx: JobContext, params: SquareOffParams, deps: AutomationDeps) -> dict[str, Any]:
    if deps.flattener is None:
        await ctx.progress(1.0, "no trading engine in this server: nothing to flatten")
        return {"closed": 0, "errors": [], "engine": False}
    result = await deps.flattener.flatten(params.reason)
    stats = {"closed": result.closed, "errors": result.errors, "engine": True}
    if result.errors:
        raise JobFailed(f"square-off left {len(result.errors)} errors: {'; '.join(result.errors[:5])}", result=stats)
    return stats
