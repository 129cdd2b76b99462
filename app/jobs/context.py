"""What a running job's handler holds: progress reporting, worker processes, child jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.jobs.host import JobHost
from app.jobs.models import JobRecord, Json
from app.jobs.worker import Work, WorkerPool


class JobContext:
    """Given to a handler for one run of one job.

    Progress only rises: a lower value than the last one reported is raised to it, so a
    follower never sees a job go backwards.
    """

    def __init__(self, host: JobHost, job: JobRecord, pool: WorkerPool) -> None:
        self.host = host
        self.job = job
        self.pool = pool
        self.progress_value = 0.0

    @property
    def job_id(self) -> str:
        return self.job.job_id

    async def progress(
        self, fraction: float, message: str = "", metrics: Json | None = None, stats: Json | None = None
    ) -> None:
        """Record and publish progress in [0, 1] (clipped, never lower than before)."""
        self.progress_value = max(self.progress_value, min(max(float(fraction), 0.0), 1.0))
        await self.host.report_progress(self.job, self.progress_value, message, metrics or {}, stats)

    async def run_in_worker(self, work: Work, *args: Any, span: tuple[float, float] = (0.0, 1.0)) -> Any:
        """`work(*args, reporter)` in a worker process (`work`: a function or its import string);
        its progress fraction f is reported as `span[0] + f * (span[1] - span[0])` of this job.
        Cancelling the job aborts the worker."""
        lo, hi = span

        async def on_progress(fraction: float, message: str, metrics: Json) -> None:
            await self.progress(lo + fraction * (hi - lo), message, metrics)

        async def on_start(pid: int) -> None:
            await self.host.note_worker(self.job_id, pid)
            self.job.worker_pid = pid

        try:
            return await self.pool.run(work, *args, on_progress=on_progress, on_start=on_start)
        finally:
            self.job.worker_pid = None

    async def submit_child(self, kind: str, params: Json) -> JobRecord:
        """Queue a job of another kind as part of this one (cancelled with it)."""
        return await self.host.submit(kind, params, parent_id=self.job_id)

    async def children_done(self, job_ids: Sequence[str]) -> list[JobRecord]:
        return [await self.host.wait(job_id) for job_id in job_ids]
