"""Automation runs on the `automation` channel: `automation_run.started` when a run is accepted,
then `automation_run.updated` with its status, progress, message and stats, the last with a
terminal status."""

from __future__ import annotations

from app.bus.interface import EventBus
from app.jobs.models import JobRecord, Json
from app.jobs.status import JobStatus

CHANNEL = "automation"


class AutomationEvents:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus

    async def submitted(self, job: JobRecord) -> None:
        await self.bus.publish(
            CHANNEL, "automation_run.started", {"job_id": job.job_id, "kind": job.kind, "params": job.params}
        )

    async def started(self, job: JobRecord) -> None:
        await self._updated({"job_id": job.job_id, "status": JobStatus.RUNNING.value, "progress": 0.0})

    async def progressed(self, job: JobRecord, metrics: Json) -> None:
        payload: Json = {"job_id": job.job_id, "progress": job.progress}
        if job.message:
            payload["message"] = job.message
        if job.stats is not None:
            payload["stats"] = job.stats
        await self._updated(payload)

    async def finished(self, job: JobRecord) -> None:
        payload: Json = {"job_id": job.job_id, "status": job.status.value, "progress": job.progress}
        if job.message:
            payload["message"] = job.message
        stats = job.result if job.result is not None else job.stats
        if stats is not None:
            payload["stats"] = stats
        if job.error:
            payload["error"] = job.error
        await self._updated(payload)

    async def _updated(self, payload: Json) -> None:
        await self.bus.publish(CHANNEL, "automation_run.updated", payload)
