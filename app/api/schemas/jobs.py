"""The training and automation job routes (JobRecord.public() is a job's answer)."""

from __future__ import annotations

from typing import Any

from app.api.schemas.base import EnumValue, ResponseModel
from app.jobs.status import JobStatus


class JobOut(ResponseModel):
    job_id: str
    family: str
    kind: str
    params: dict[str, Any]
    status: EnumValue[JobStatus]
    progress: float
    timeout: float
    created_ts: float
    message: str | None
    stats: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    parent_id: str | None
    schedule_id: int | None
    worker_pid: int | None
    started_ts: float | None
    finished_ts: float | None
    duration: float | None


class JobList(ResponseModel):
    jobs: list[JobOut]


class RunOut(JobOut):
    """An automation run with the jobs it started."""

    children: list[JobOut]


class ScheduleOut(ResponseModel):
    schedule_id: int
    name: str
    kind: str
    params: dict[str, Any]
    cron: str
    timezone: str
    enabled: bool
    next_ts: float | None
    last_slot_ts: float | None
    last_job_id: str | None
    last_error: str | None
    created_ts: float
    updated_ts: float


class ScheduleList(ResponseModel):
    schedules: list[ScheduleOut]
