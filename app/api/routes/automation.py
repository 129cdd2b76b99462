"""Automation runs and their schedules over REST (events on the `automation` channel)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field

from app.api import jobs
from app.api.deps import JobsDep
from app.api.params import RowIdPath
from app.api.schemas.errors import errors
from app.api.schemas.jobs import RunOut, ScheduleList, ScheduleOut
from app.api.security import require_token
from app.automation.cron import DEFAULT_TIMEZONE, CronError
from app.automation.kinds import FAMILY
from app.automation.schedules import ScheduleNotFound
from app.automation.system import JobSystem
from app.jobs.errors import InvalidParams, UnknownJobKind
from app.jobs.models import JobRecord

router = APIRouter(
    prefix="/api/automation",
    tags=["automation"],
    dependencies=[Depends(require_token)],
    responses=errors(401, 404, 422),
)


async def _run_with_children(system: JobSystem, record: JobRecord) -> dict[str, Any]:
    return {
        **record.public(),
        "children": [c.public() for c in await system.jobs.find(parent_id=record.job_id, limit=1000)],
    }


jobs.add_job_routes(
    router,
    FAMILY,
    "/runs",
    queue="Start a run now",
    listing="Automation runs, newest first",
    reading="One run with the jobs it started (404 when unknown)",
    cancelling="Ask a run (and its training jobs) to stop",
    detail=_run_with_children,
    detail_model=RunOut,
)


# --- schedules -----------------------------------------------------------------------------


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    kind: str
    params: dict[str, Any] = Field(default_factory=dict)
    cron: str = Field(description="minute hour day month weekday, in `timezone`; e.g. '30 15 * * 1-5'")
    timezone: str = Field(DEFAULT_TIMEZONE, description="IANA time zone of the cron expression")
    enabled: bool = True


class ScheduleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    kind: str | None = None
    params: dict[str, Any] | None = None
    cron: str | None = None
    timezone: str | None = None
    enabled: bool | None = None


def _checked_params(system: JobSystem, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The params as the run will get them; 422 naming the kind or each wrong param."""
    job_kind = system.runner.kinds.get(kind)
    try:
        if job_kind is None or job_kind.family != FAMILY:
            raise UnknownJobKind(kind, system.runner.kinds_of(FAMILY))
        return job_kind.validate(params).model_dump(mode="json")
    except (UnknownJobKind, InvalidParams) as e:
        jobs.raise_http(e)


def _cron_error(e: CronError) -> HTTPException:
    field = "timezone" if "time zone" in str(e) else "cron"
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{"loc": ["body", field], "msg": str(e)}])


@router.post(
    "/schedules",
    status_code=status.HTTP_201_CREATED,
    summary="Create a schedule (422 naming a wrong kind, param, cron or time zone)",
    response_model=ScheduleOut,
)
async def create_schedule(system: JobsDep, body: ScheduleCreate) -> dict[str, Any]:
    params = _checked_params(system, body.kind, body.params)
    try:
        created = await system.schedules.create(
            name=body.name, kind=body.kind, params=params, cron=body.cron, timezone=body.timezone, enabled=body.enabled
        )
    except CronError as e:
        raise _cron_error(e) from e
    system.scheduler.notify()
    return created


@router.get("/schedules", summary="Every schedule", response_model=ScheduleList)
async def read_schedules(system: JobsDep) -> dict[str, Any]:
    return {"schedules": await system.schedules.all()}


@router.get("/schedules/{schedule_id}", summary="One schedule (404 when unknown)", response_model=ScheduleOut)
async def read_schedule(system: JobsDep, schedule_id: RowIdPath) -> dict[str, Any]:
    try:
        return await system.schedules.get(schedule_id)
    except ScheduleNotFound as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e


@router.patch("/schedules/{schedule_id}", summary="Change some of a schedule's fields", response_model=ScheduleOut)
async def update_schedule(system: JobsDep, schedule_id: RowIdPath, body: ScheduleUpdate) -> dict[str, Any]:
    changes = body.model_dump(exclude_none=True)
    try:
        current = await system.schedules.get(schedule_id)
        if "kind" in changes or "params" in changes:
            merged = current | changes
            changes["params"] = _checked_params(system, merged["kind"], merged["params"])
        updated = await system.schedules.update(schedule_id, **changes)
    except ScheduleNotFound as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
    except CronError as e:
        raise _cron_error(e) from e
    system.scheduler.notify()
    return updated


@router.delete(
    "/schedules/{schedule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a schedule (404 when unknown)",
    response_model=None,
)
async def delete_schedule(system: JobsDep, schedule_id: RowIdPath) -> Response:
    try:
        await system.schedules.delete(schedule_id)
    except ScheduleNotFound as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
    system.scheduler.notify()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
