"""Training jobs over REST: submit, list, read, cancel (events on the `training` channel)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from app.api import jobs
from app.api.security import require_token
from app.automation.system import JobSystem
from app.jobs.status import JobStatus
from app.training.jobs import FAMILY

router = APIRouter(prefix="/api/training/jobs", tags=["training"], dependencies=[Depends(require_token)])


def _system(request: Request) -> JobSystem:
    system: JobSystem = request.app.state.jobs
    return system


SystemDep = Annotated[JobSystem, Depends(_system)]


@router.post("", status_code=status.HTTP_202_ACCEPTED, summary="Queue a training job (ridge, lgbm)")
async def create_training_job(system: SystemDep, body: jobs.SubmitJob) -> dict[str, Any]:
    return await jobs.submit(system, FAMILY, body)


@router.get("", summary="Training jobs, newest first")
async def read_training_jobs(
    system: SystemDep,
    status_: Annotated[JobStatus | None, Query(alias="status")] = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    return await jobs.find(system, FAMILY, status_, kind, limit)


@router.get("/{job_id}")
async def read_training_job(system: SystemDep, job_id: str) -> dict[str, Any]:
    return (await jobs.read(system, FAMILY, job_id)).public()


@router.post("/{job_id}/cancel", summary="Ask a job to stop (409 when it has already ended)")
async def cancel_training_job(system: SystemDep, job_id: str) -> dict[str, Any]:
    return await jobs.cancel(system, FAMILY, job_id)
