"""Job kinds: a name, a family (the channel its events go to), validated params, a handler,
a timeout; and the per-family event publisher (JobEvents)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from app.jobs.context import JobContext
from app.jobs.errors import InvalidParams, ParamProblem
from app.jobs.models import JobRecord, Json

Handler = Callable[[JobContext, Any], Awaitable[Json]]


@dataclass(frozen=True, slots=True)
class JobKind:
    """One kind of job.

    :param name: e.g. `lgbm`, `backfill`; unique across families (REST routes check the family).
    :param family: `training` or `automation`: whose events it publishes.
    :param params: the pydantic model its params must fit (unknown fields refused).
    :param handler: `await handler(ctx, params)` -> the result (a JSON object).
    :param timeout: seconds before the job is failed as timed out.
    :param server_bound: true for params that act on the live state of the server that takes
        the job (its trading engine, its simulated market): such a job runs in that server
        even when a job queue is configured.
    """

    name: str
    family: str
    params: type[BaseModel]
    handler: Handler
    timeout: float
    server_bound: Callable[[Any], bool] | None = None

    def needs_server(self, params: BaseModel) -> bool:
        return self.server_bound is not None and self.server_bound(params)

    def validate(self, params: object) -> BaseModel:
        """The params as the handler gets them; InvalidParams naming each wrong field."""
        try:
            return self.params.model_validate(params if params is not None else {})
        except ValidationError as e:
            problems = [ParamProblem(tuple(err["loc"]), err["msg"]) for err in e.errors(include_url=False)]
            raise InvalidParams(self.name, problems) from e


class JobEvents(Protocol):
    """How one family tells the world about its jobs (each method publishes to its channel)."""

    async def submitted(self, job: JobRecord) -> None: ...

    async def started(self, job: JobRecord) -> None: ...

    async def progressed(self, job: JobRecord, metrics: Json) -> None: ...

    async def finished(self, job: JobRecord) -> None: ...
