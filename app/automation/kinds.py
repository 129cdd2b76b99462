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

# Runs that act on the live state of the server that takes them run in that server even with
# a job queue: square_off flattens its trading engine; simulated history is its market's.
SERVER_BOUND: dict[str, Callable[[Any], bool]] = {
    "square_off": lambda params: True,
    "backfill": lambda params: params.source == "simulated",
    "retrain": lambda params: params.backfill_days > 0,
}

# name -> (params, handler, default timeout in seconds)
RUNS: dict[str, tuple[type[BaseModel], Callable[..., Awaitable[dict[str, Any]]], float]] = {
    "backfill": (BackfillParams, backfill.backfill, 1800.0),
    "retrain": (RetrainParams, retrain.retrain, 4 * 3600.0),
    "evaluate": (EvaluateParams, housekeeping.evaluate, 600.0),
    "prune": (PruneParams, housekeeping.prune, 600.0),
    "square_off": (SquareOffParams, housekeeping.square_off, 120.0),
}


def automation_kinds(deps: AutomationDeps) -> list[JobKind]:
    def bind(
        handler: Callable[..., Awaitable[dict[str, Any]]],
    ) -> Callable[[JobContext, Any], Awaitable[dict[str, Any]]]:
        async def run(ctx: JobContext, params: Any) -> dict[str, Any]:
            return await handler(ctx, params, deps)

        return run

    return [
        JobKind(name, FAMILY, params, bind(handler), timeout, SERVER_BOUND.get(name))
        for name, (params, handler, timeout) in RUNS.items()
    ]
