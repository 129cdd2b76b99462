"""Training jobs on the `training` channel: started, progress, succeeded, failed."""

from __future__ import annotations

from app.bus.interface import EventBus
from app.jobs.models import JobRecord, Json
from app.jobs.status import JobStatus

CHANNEL = "training"


def failure_text(job: JobRecord) -> str:
    error = job.error or "failed"
    if job.status is JobStatus.CANCELLED and not error.startswith("cancelled"):
        return f"cancelled: {error}"
    return error


class TrainingEvents:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus

    async def submitted(self, job: JobRecord) -> None:
        return None  # the contract has no queued event; `training.started` comes when it runs

    async def started(self, job: JobRecord) -> None:
        payload = {
            "job_id": job.job_id,
            "kind": job.kind,
            "instrument_key": job.params["instrument_key"],
            "interval": job.params["interval"],
        }
        await self.bus.publish(CHANNEL, "training.started", payload)

    async def progressed(self, job: JobRecord, metrics: Json) -> None:
        payload = {"job_id": job.job_id, "progress": job.progress, "message": job.message or "", "metrics": metrics}
        await self.bus.publish(CHANNEL, "training.progress", payload)

    async def finished(self, job: JobRecord) -> None:
        if job.status is JobStatus.SUCCEEDED:
            await self.bus.publish(CHANNEL, "training.succeeded", {"job_id": job.job_id, "result": job.result or {}})
            return
        payload: Json = {"job_id": job.job_id, "error": failure_text(job)}
        if job.result is not None:
            payload["result"] = job.result
        await self.bus.publish(CHANNEL, "training.failed", payload)
