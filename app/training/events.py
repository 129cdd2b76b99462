"""Training jobs on the `training` channel: started, progress, succeeded, failed."""

from __future__ import annotations

from app.events import (
    EventSink,
    TrainingFailed,
    TrainingProgress,
    TrainingStarted,
    TrainingSucceeded,
    publish,
)
from app.jobs.models import JobRecord, Json
from app.jobs.status import JobStatus


def failure_text(job: JobRecord) -> str:
    error = job.error or "failed"
    if job.status is JobStatus.CANCELLED and not error.startswith("cancelled"):
        return f"cancelled: {error}"
    return error


class TrainingEvents:
    def __init__(self, bus: EventSink) -> None:
        self.bus = bus

    async def submitted(self, job: JobRecord) -> None:
        return None  # the contract has no queued event; `training.started` comes when it runs

    async def started(self, job: JobRecord) -> None:
        event = TrainingStarted(
            job_id=job.job_id,
            kind=job.kind,
            instrument_key=job.params["instrument_key"],
            interval=job.params["interval"],
        )
        await publish(self.bus, event)

    async def progressed(self, job: JobRecord, metrics: Json) -> None:
        event = TrainingProgress(job_id=job.job_id, progress=job.progress, message=job.message or "", metrics=metrics)
        await publish(self.bus, event)

    async def finished(self, job: JobRecord) -> None:
        if job.status is JobStatus.SUCCEEDED:
            await publish(self.bus, TrainingSucceeded(job_id=job.job_id, result=job.result or {}))
            return
        result = {"result": job.result} if job.result is not None else {}  # absent, never null
        await publish(self.bus, TrainingFailed(job_id=job.job_id, error=failure_text(job), **result))
