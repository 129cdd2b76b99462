"""Automation runs on the `automation` channel: `automation_run.started` when a run is accepted,
then `automation_run.updated` with its status, progress, message and stats, the last with a
terminal status."""

from __future__ import annotations

from typing import Any

from app.events import AutomationRunStarted, AutomationRunUpdated, EventSink, publish
from app.jobs.models import JobRecord, Json
from app.jobs.status import JobStatus


class AutomationEvents:
    def __init__(self, bus: EventSink) -> None:
        self.bus = bus

    async def submitted(self, job: JobRecord) -> None:
        await publish(self.bus, AutomationRunStarted(job_id=job.job_id, kind=job.kind, params=job.params))

    async def started(self, job: JobRecord) -> None:
        await self._updated(job, status=JobStatus.RUNNING, progress=0.0)

    async def progressed(self, job: JobRecord, metrics: Json) -> None:
        await self._updated(job, message=job.message or None, stats=job.stats)

    async def finished(self, job: JobRecord) -> None:
        await self._updated(
            job,
            status=job.status,
            message=job.message or None,
            stats=job.result if job.result is not None else job.stats,
            error=job.error or None,
        )

    async def _updated(
        self,
        job: JobRecord,
        *,
        status: JobStatus | None = None,
        progress: float | None = None,
        message: str | None = None,
        stats: Json | None = None,
        error: str | None = None,
    ) -> None:
        """An `automation_run.updated`: the job's progress unless given; a field left None is left
        out (the contract's optional fields may be absent, never null)."""
        given: dict[str, Any] = {
            "progress": job.progress if progress is None else progress,
            "message": message,
            "status": status.value if status is not None else None,
            "stats": stats,
            "error": error,
        }
        event = AutomationRunUpdated(job_id=job.job_id, **{k: v for k, v in given.items() if v is not None})
        await publish(self.bus, event)
