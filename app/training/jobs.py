"""Training as jobs: load the candles, train in a worker process, register, run the gate.

Result of a succeeded job: `{model_id, model_kind, kind, instrument_key, interval, horizons,
metrics, samples, trained_range: {start, end}, duration, fit_seconds, promoted, decision,
incumbent_id}`. A job fails with a clear error for an instrument without stored candles
("unknown instrument"), too little data, or when cancelled; bad params never make a job.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any

from app.jobs.context import JobContext
from app.jobs.errors import JobFailed, WorkerError
from app.jobs.kinds import JobKind
from app.market.candles import CandleStore
from app.registry.registry import ModelRegistry, NewModel
from app.training.params import PARAMS, TrainingParams
from app.training.request import TRAIN, TrainRequest

FAMILY = "training"
DEFAULT_TIMEOUT = 1800.0
LOAD_SPAN = 0.03  # of a job's progress: reading the candles
FIT_SPAN = 0.97  # up to here: the worker's folds and final fit; then registration


class Trainer:
    """The handler of every training kind."""

    def __init__(self, candles: CandleStore, registry: ModelRegistry) -> None:
        self.candles = candles
        self.registry = registry

    async def __call__(self, ctx: JobContext, params: TrainingParams) -> dict[str, Any]:
        started = time.perf_counter()
        kind = ctx.job.kind
        key, interval = params.instrument_key, params.interval
        frame = await self.candles.read(key, interval, params.start, params.end)
        if frame.empty:
            within = " in that range" if params.start is not None or params.end is not None else ""
            raise JobFailed(
                f"unknown instrument: no {interval} candles stored for {key}{within}; backfill or import candles first"
            )
        await ctx.progress(LOAD_SPAN, f"loaded {len(frame)} {interval} candles of {key}", {"candles": len(frame)})
        model_id = self.registry.new_model_id()
        directory = self.registry.artifact_dir(model_id)
        request = TrainRequest(
            kind, params.model_dump(mode="json"), frame["ts"].to_numpy(), frame["close"].to_numpy(), str(directory)
        )
        registered = False
        try:
            try:
                out = await ctx.run_in_worker(TRAIN, request, span=(LOAD_SPAN, FIT_SPAN))
            except WorkerError as e:
                raise JobFailed(e.message if e.type_name == "TooLittleData" else f"{e.type_name}: {e.message}") from e
            await self.registry.register(
                NewModel(
                    model_id=model_id,
                    kind=kind,
                    instrument_key=key,
                    interval=interval,
                    horizons=out["horizons"],
                    trained_from=out["trained_from"],
                    trained_to=out["trained_to"],
                    samples=out["samples"],
                    metrics=out["metrics"],
                    params=params.model_dump(mode="json"),
                    job_id=ctx.job_id,
                )
            )
            registered = True
        finally:
            if not registered:
                await asyncio.to_thread(shutil.rmtree, directory, True)
        decision = await asyncio.shield(self.registry.consider(model_id))
        await ctx.progress(1.0, decision.reason, out["metrics"])
        return {
            "model_id": model_id,
            "model_kind": f"{kind}:{model_id}",
            "kind": kind,
            "instrument_key": key,
            "interval": interval,
            "horizons": out["horizons"],
            "metrics": out["metrics"],
            "samples": out["samples"],
            "trained_range": {"start": out["trained_from"], "end": out["trained_to"]},
            "duration": round(time.perf_counter() - started, 3),
            "fit_seconds": out["fit_seconds"],
            "promoted": decision.promoted,
            "decision": decision.reason,
            "incumbent_id": decision.incumbent_id,
        }


def training_kinds(*, candles: CandleStore, registry: ModelRegistry, timeout: float = DEFAULT_TIMEOUT) -> list[JobKind]:
    """The `ridge` and `lgbm` job kinds."""
    trainer = Trainer(candles, registry)
    return [JobKind(name, FAMILY, params, trainer, timeout) for name, params in PARAMS.items()]
