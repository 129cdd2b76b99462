"""The automation job kinds, bound to what they act on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from app.automation import backfill, housekeeping, retrain
from app.automation.deps import AutomationDeps
from app.automation.params import BackfillParams, EvaluateParams, PruneParams, RetrainParams, SquareOffParams
from app.jobs.context import JobContext
from app.jobs.kinds import JobKind

FAMILY = "automation"

# name -> (params, handler, default timeout in seconds)
RUNS: dict[str, tuple[type[BaseModel], Callable[..., Awaitable[dict[str, Any]]], float]] = {
    "backfill": (BackfillParams, backfill.backfill, 1800.0),
    "retrain": (RetrainParams, retrain.retrain, 4 * 3600.0),
    "evaluate": (EvaluateParams, housekeeping.evaluate, 600.0),
    "prune": (PruneParams, housekeeping.prune, 600.0),
    "square_off": (SquareOffParams, housekeeping.square_off, 120.0),
}


def automation_kinds(deps: AutomationDeps) -> list[JobKind]:
    def bind(handler: Callable[..., Awaitable[dict[str, Any]]]) -> Callable[[JobContext, Any], Awaitable[dict[str, Any]]]:
        async def run(ctx: JobContext, params: Any) -> dict[str, Any]:
            return await handler(ctx, params, deps)

        return run

    return [JobKind(name, FAMILY, params, bind(handler), timeout) for name, (params, handler, timeout) in RUNS.items()]
