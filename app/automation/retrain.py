"""`retrain`: one training job per instrument and kind, followed to their ends, with the run's
progress the mean of theirs (after an optional backfill, which takes the first 20%)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from app.automation.backfill import backfill
from app.automation.deps import AutomationDeps
from app.automation.params import BackfillParams, RetrainParams
from app.jobs.context import JobContext
from app.jobs.errors import IllegalTransition, JobFailed, JobNotFound
from app.jobs.models import JobRecord
from app.jobs.status import JobStatus

BACKFILL_SHARE = 0.2


async def retrain(ctx: JobContext, params: RetrainParams, deps: AutomationDeps) -> dict[str, Any]:
    keys = params.instruments or deps.universe()
    start = 0.0
    stats: dict[str, Any] = {"instruments": len(keys), "jobs": len(keys) * len(params.kinds)}
    if params.backfill_days > 0:
        filled = await backfill(
            ctx,
            BackfillParams(instruments=keys, interval=params.interval, days=params.backfill_days),
            deps,
            span=(0.0, BACKFILL_SHARE),
        )
        stats["backfill"] = filled
        start = BACKFILL_SHARE
    children: list[JobRecord] = []
    for key in keys:
        for kind in params.kinds:
            children.append(await ctx.submit_child(kind, params.child_params(kind, key)))
    ids = [c.job_id for c in children]
    progress = dict.fromkeys(ids, 0.0)
    changed = asyncio.Event()

    def on_progress(job: JobRecord) -> None:
        if job.job_id in progress:
            progress[job.job_id] = job.progress
            changed.set()

    remove = ctx.host.add_progress_listener(on_progress)
    waits = {asyncio.ensure_future(ctx.host.wait(i)): i for i in ids}
    ended: dict[str, JobRecord] = {}
    try:
        await ctx.progress(start, f"{len(ids)} training jobs queued", stats={**stats, "succeeded": 0, "failed": 0})
        while True:
            changed.clear()
            for w in [w for w in waits if w.done() and waits[w] not in ended]:
                ended[waits[w]] = w.result()
                progress[waits[w]] = 1.0
            share = sum(progress.values()) / len(ids)
            await ctx.progress(
                start + (1.0 - start) * share,
                f"{len(ended)} of {len(ids)} training jobs done",
                stats={**stats, **_tally(ended.values())},
            )
            if len(ended) == len(ids):
                break
            pending = [w for w in waits if not w.done()]  # one that ended meanwhile is picked up above
            if pending:
                tick = asyncio.ensure_future(changed.wait())
                await asyncio.wait([*pending, tick], return_when=asyncio.FIRST_COMPLETED)
                tick.cancel()
    finally:
        remove()
        for w in waits:
            w.cancel()
        for i in ids:
            if i not in ended:
                with contextlib.suppress(IllegalTransition, JobNotFound):
                    await ctx.host.cancel(i, f"its retrain run {ctx.job_id} ended")
    summary = {**stats, **_tally(ended.values()), "models": [_line(ended[i]) for i in ids]}
    failed = [ended[i] for i in ids if ended[i].status is not JobStatus.SUCCEEDED]
    if failed:
        first = failed[0]
        raise JobFailed(
            f"{len(failed)} of {len(ids)} training jobs failed; first: {first.params['instrument_key']} "
            f"{first.kind}: {first.error}",
            result=summary,
        )
    return summary


def _tally(records: Any) -> dict[str, int]:
    records = list(records)
    return {
        "succeeded": sum(r.status is JobStatus.SUCCEEDED for r in records),
        "failed": sum(r.status is not JobStatus.SUCCEEDED for r in records),
        "promoted": sum(bool(r.result and r.result.get("promoted")) for r in records),
    }


def _line(record: JobRecord) -> dict[str, Any]:
    line: dict[str, Any] = {
        "job_id": record.job_id,
        "kind": record.kind,
        "instrument_key": record.params["instrument_key"],
        "status": record.status.value,
    }
    if record.result:
        line.update(
            model_id=record.result.get("model_id"),
            promoted=record.result.get("promoted"),
            mae_ratio=record.result.get("metrics", {}).get("mae_ratio"),
        )
    if record.error:
        line["error"] = record.error
    return line
