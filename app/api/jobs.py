"""What the training and automation routes share: the job request body, the four job routes
(queue, list, read, cancel), the lookups, and domain errors mapped to HTTP answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import InstrumentMasterDep, JobsDep
from app.api.schemas.errors import errors
from app.api.schemas.jobs import JobList, JobOut
from app.automation.system import JobSystem
from app.jobs.errors import IllegalTransition, InvalidParams, JobNotFound, UnknownJobKind
from app.jobs.models import JobRecord
from app.jobs.status import JobStatus
from app.market.errors import MarketDataError
from app.market.instrument_master.resolve import resolve_instrument
from app.market.instrument_master.store import InstrumentMaster


class SubmitJob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="the job kind")
    params: dict[str, Any] = Field(default_factory=dict, description="the kind's params")


def raise_http(e: Exception) -> NoReturn:
    if isinstance(e, UnknownJobKind):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{"loc": ["body", "kind"], "msg": str(e)}]) from e
    if isinstance(e, InvalidParams):
        detail = [{"loc": ["body", "params", *p.loc], "msg": p.msg} for p in e.problems]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from e
    if isinstance(e, JobNotFound):
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
    if isinstance(e, IllegalTransition):
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from e
    raise e


async def resolved_params(params: dict[str, Any], master: InstrumentMaster) -> dict[str, Any]:
    """`params` with trading symbols in `instrument_key` and `instruments` turned into keys (422
    naming the field when one is unknown); values of other types are left to the kind's check."""
    resolved = dict(params)
    if isinstance(params.get("instrument_key"), str):
        resolved["instrument_key"] = await _resolve(params["instrument_key"], master, ["instrument_key"])
    instruments = params.get("instruments")
    if isinstance(instruments, list):
        resolved["instruments"] = [
            await _resolve(text, master, ["instruments", i]) if isinstance(text, str) else text
            for i, text in enumerate(instruments)
        ]
    return resolved


async def _resolve(text: str, master: InstrumentMaster, loc: list[str | int]) -> str:
    try:
        return await resolve_instrument(text, master)
    except MarketDataError as e:
        detail = [{"loc": ["body", "params", *loc], "msg": str(e), "input": text}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from e


async def submit(system: JobSystem, family: str, body: SubmitJob, master: InstrumentMaster) -> dict[str, Any]:
    params = await resolved_params(body.params, master)
    try:
        record = await system.runner.submit(body.kind, params, family=family)
    except (UnknownJobKind, InvalidParams) as e:
        raise_http(e)
    return record.public()


async def read(system: JobSystem, family: str, job_id: str) -> JobRecord:
    try:
        record = await system.jobs.get(job_id)
    except JobNotFound as e:
        raise_http(e)
    if record.family != family:
        raise_http(JobNotFound(job_id))
    return record


async def cancel(system: JobSystem, family: str, job_id: str) -> dict[str, Any]:
    await read(system, family, job_id)
    try:
        return (await system.runner.cancel(job_id)).public()
    except (JobNotFound, IllegalTransition) as e:
        raise_http(e)


async def find(
    system: JobSystem, family: str, status_: JobStatus | None, kind: str | None, limit: int
) -> dict[str, Any]:
    records = await system.jobs.find(family=family, status=status_, kind=kind, limit=limit)
    return {"jobs": [r.public() for r in records]}


Detail = Callable[[JobSystem, JobRecord], Awaitable[dict[str, Any]]]


async def _public(system: JobSystem, record: JobRecord) -> dict[str, Any]:
    return record.public()


def add_job_routes(
    router: APIRouter,
    family: str,
    path: str,
    *,
    queue: str,
    listing: str,
    reading: str,
    cancelling: str,
    detail: Detail = _public,
    detail_model: type[JobOut] = JobOut,
) -> None:
    """Queue (202), list, read and cancel the jobs of `family` under `path`; `detail` makes the
    answer of a read, `detail_model` describes it; the strings are the routes' summaries."""

    @router.post(path, status_code=status.HTTP_202_ACCEPTED, summary=queue, response_model=JobOut)
    async def create_job(system: JobsDep, master: InstrumentMasterDep, body: SubmitJob) -> dict[str, Any]:
        return await submit(system, family, body, master)

    @router.get(path, summary=listing, response_model=JobList)
    async def read_jobs(
        system: JobsDep,
        status_: Annotated[JobStatus | None, Query(alias="status")] = None,
        kind: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        return await find(system, family, status_, kind, limit)

    @router.get(path + "/{job_id}", summary=reading, response_model=detail_model)
    async def read_job(system: JobsDep, job_id: str) -> dict[str, Any]:
        return await detail(system, await read(system, family, job_id))

    @router.post(path + "/{job_id}/cancel", summary=cancelling, response_model=JobOut, responses=errors(409))
    async def cancel_job(system: JobsDep, job_id: str) -> dict[str, Any]:
        return await cancel(system, family, job_id)
