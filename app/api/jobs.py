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

Problem = dict[str, Any]  # one wrong field of a 422: {"loc": [...], "msg": ..., "input"?: ...}


class SubmitJob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="the job kind")
    params: dict[str, Any] = Field(default_factory=dict, description="the kind's params")


def raise_http(e: Exception) -> NoReturn:
    if isinstance(e, UnknownJobKind):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{"loc": ["body", "kind"], "msg": str(e)}]) from e
    if isinstance(e, InvalidParams):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, _problems(e)) from e
    if isinstance(e, JobNotFound):
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
    if isinstance(e, IllegalTransition):
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from e
    raise e


async def resolved_params(params: dict[str, Any], master: InstrumentMaster) -> tuple[dict[str, Any], list[Problem]]:
    """`params` with trading symbols in `instrument_key` and `instruments` turned into keys, and
    a problem for each text that names no instrument (it is left as it was); values of other
    types are left to the kind's check."""
    resolved, problems = dict(params), []

    async def resolve(text: object, loc: list[str | int]) -> object:
        if not isinstance(text, str):
            return text
        try:
            return await resolve_instrument(text, master)
        except MarketDataError as e:
            problems.append({"loc": ["body", "params", *loc], "msg": str(e), "input": text})
            return text

    if "instrument_key" in params:
        resolved["instrument_key"] = await resolve(params["instrument_key"], ["instrument_key"])
    if isinstance(params.get("instruments"), list):
        resolved["instruments"] = [await resolve(t, ["instruments", i]) for i, t in enumerate(params["instruments"])]
    return resolved, problems


async def submit(system: JobSystem, family: str, body: SubmitJob, master: InstrumentMaster) -> dict[str, Any]:
    params, problems = await resolved_params(body.params, master)
    try:
        if not problems:
            return (await system.runner.submit(body.kind, params, family=family)).public()
        _check(system, family, body.kind, params)  # every wrong field in one answer: the kind's too
    except UnknownJobKind as e:
        raise_http(e)
    except InvalidParams as e:
        named = [p["loc"] for p in problems]  # the kind's complaint about the same text is left out
        problems += [p for p in _problems(e) if not any(loc[: len(p["loc"])] == p["loc"] for loc in named)]
    raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problems)


def _check(system: JobSystem, family: str, kind: str, params: dict[str, Any]) -> None:
    """What `runner.submit` checks first, without queueing (UnknownJobKind, InvalidParams)."""
    job_kind = system.runner.kinds.get(kind)
    if job_kind is None or job_kind.family != family:
        raise UnknownJobKind(kind, system.runner.kinds_of(family))
    job_kind.validate(params)


def _problems(e: InvalidParams) -> list[Problem]:
    return [{"loc": ["body", "params", *p.loc], "msg": p.msg} for p in e.problems]


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
