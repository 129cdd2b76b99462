"""`backfill`: fill the candle store, from the simulated market's history or a candle file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.automation.deps import AutomationDeps
from app.automation.history import generate_history
from app.automation.params import BackfillParams
from app.jobs.context import JobContext
from app.jobs.errors import JobFailed
from app.market.errors import MarketDataError
from app.market.importers import load_candle_file
from app.market.intervals import parse_interval


async def backfill(
    ctx: JobContext, params: BackfillParams, deps: AutomationDeps, *, span: tuple[float, float] = (0.0, 1.0)
) -> dict[str, Any]:
    lo, hi = span
    if params.source == "file":
        return await _from_file(ctx, params, deps, span)
    if deps.history is None:
        raise JobFailed("backfill source 'simulated' needs the simulated market (SIGNALDESK_MARKET_SOURCE=simulated)")
    keys = params.instruments or deps.universe()
    unknown = [k for k in keys if k not in deps.history.instruments]
    if unknown:
        raise JobFailed(f"unknown instruments for the simulated market: {', '.join(unknown)}")
    await ctx.progress(
        lo, f"generating {params.days} sessions of {params.interval} history for {len(keys)} instruments"
    )
    mid = lo + (hi - lo) * 0.5
    frames = await ctx.run_in_worker(
        generate_history, deps.history.spec, keys, params.interval, params.days, span=(lo, mid)
    )
    written = rows = 0
    for i, (key, frame) in enumerate(frames.items()):
        written += await deps.candles.upsert(key, params.interval, frame)
        rows += len(frame)
        await ctx.progress(
            mid + (hi - mid) * (i + 1) / len(frames), f"stored {key}", stats={"rows": rows, "written": written}
        )
    first = min((int(f["ts"].iloc[0]) for f in frames.values()), default=None)
    last = max((int(f["ts"].iloc[-1]) for f in frames.values()), default=None)
    return {
        "source": "simulated",
        "instruments": len(frames),
        "interval": params.interval,
        "rows": rows,
        "written": written,
        "first_ts": first,
        "last_ts": last,
    }


async def _from_file(
    ctx: JobContext, params: BackfillParams, deps: AutomationDeps, span: tuple[float, float]
) -> dict[str, Any]:
    assert params.path is not None
    key = params.instruments[0]
    path = Path(params.path)
    try:
        frame = load_candle_file(path, parse_interval(params.interval))
    except (OSError, MarketDataError) as e:
        raise JobFailed(f"cannot import {path}: {e}") from e
    await ctx.progress(span[0] + (span[1] - span[0]) / 2, f"read {len(frame)} candles from {path.name}")
    written = await deps.candles.upsert(key, params.interval, frame)
    return {
        "source": "file",
        "instruments": 1,
        "interval": params.interval,
        "rows": len(frame),
        "written": written,
        "first_ts": int(frame["ts"].iloc[0]) if len(frame) else None,
        "last_ts": int(frame["ts"].iloc[-1]) if len(frame) else None,
    }
