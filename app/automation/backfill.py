"""`backfill`: fill the candle store, from the simulated market's history, a candle file, or
Upstox's historical candles (the days not yet stored, span by span: app.market.upstox.history)."""

from __future__ import annotations

from datetime import timedelta
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
from app.market.upstox.errors import HistoryFetchFailed, TokenUnavailable
from app.market.upstox.history import HistoryFetcher, ist_date
from app.market.upstox.rest import UpstoxRest


async def backfill(
    ctx: JobContext, params: BackfillParams, deps: AutomationDeps, *, span: tuple[float, float] = (0.0, 1.0)
) -> dict[str, Any]:
    lo, hi = span
    if params.source == "file":
        return await _from_file(ctx, params, deps, span)
    if params.source == "upstox":
        return await _from_upstox(ctx, params, deps, span)
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
        frame = load_candle_file(path, parse_interval(params.interval), zone=params.tz)
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


async def _from_upstox(
    ctx: JobContext, params: BackfillParams, deps: AutomationDeps, span: tuple[float, float]
) -> dict[str, Any]:
    """Per instrument: from the day of its last stored candle (or `days` ago) to today, the spans
    from there on fetched again (the last stored day may have been partial)."""
    access = deps.upstox
    if access is None:
        raise JobFailed(
            "backfill source 'upstox' needs SIGNALDESK_UPSTOX_ACCESS_TOKEN or SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE "
            "(exactly one)"
        )
    lo, hi = span
    keys = params.instruments or deps.universe()
    interval = parse_interval(params.interval)
    today = access.today()
    window = today - timedelta(days=params.days)
    last_stored = {s.instrument_key: s.last_ts for s in await deps.candles.instruments() if s.interval == interval.name}
    rest = UpstoxRest(access.base_url)
    fetcher = HistoryFetcher(rest, access.token, deps.candles, pacing=access.pacing)
    stats = {"spans": 0, "rows": 0, "written": 0}
    first_ts: int | None = None
    last_ts: int | None = None
    try:
        for i, key in enumerate(keys):
            first = max(window, ist_date(last_stored[key])) if key in last_stored else window
            try:
                result = await fetcher.fetch(key, interval, first, today, today=today, refetch=True)
            except (HistoryFetchFailed, TokenUnavailable) as e:
                raise JobFailed(f"backfill from upstox: {e}") from e
            stats["spans"] += result.fetched
            stats["rows"] += result.candles
            stats["written"] += result.written
            if result.first_ts is not None:
                first_ts = result.first_ts if first_ts is None else min(first_ts, result.first_ts)
            if result.last_ts is not None:
                last_ts = result.last_ts if last_ts is None else max(last_ts, result.last_ts)
            await ctx.progress(lo + (hi - lo) * (i + 1) / len(keys), f"fetched {key} from {first}", stats=dict(stats))
    finally:
        await rest.aclose()
    return {
        "source": "upstox",
        "instruments": len(keys),
        "interval": interval.name,
        **stats,
        "first_ts": first_ts,
        "last_ts": last_ts,
    }
