"""What the runner offers the parts it drives, as protocols, so none of them imports it:
a running job's context (JobHost) and the launchers that run jobs (JobLifecycle)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from app.jobs.models import JobRecord, JobResult, Json
from app.jobs.status import JobStatus
from app.jobs.store import JobStore

ProgressListener = Callable[[JobRecord], None]


class JobHost(Protocol):
    """What a JobContext needs: report its job's progress and worker process, and submit,
    follow, wait for and cancel the jobs it starts."""

    async def report_progress(
        self, job: JobRecord, progress: float, message: str, metrics: Json, stats: Json | None
    ) -> None: ...

    async def note_worker(self, job_id: str, pid: int) -> None: ...

    async def submit(
        self,
        kind: str,
        params: object,
        *,
        family: str | None = None,
        parent_id: str | None = None,
        schedule_id: int | None = None,
    ) -> JobRecord: ...

    async def wait(self, job_id: str) -> JobRecord: ...

    async def cancel(self, job_id: str, reason: str = ...) -> JobRecord: ...

    def add_progress_listener(self, listener: ProgressListener) -> Callable[[], None]: ...


class JobLifecycle(JobHost, Protocol):
    """What a launcher needs: the store, the clock, and the status changes, each stored then published."""

    store: JobStore

    def now(self) -> float: ...

    async def begin(self, job: JobRecord) -> JobRecord:
        """queued -> running (IllegalTransition when it ended meanwhile)."""
        ...

    async def finish(self, job_id: str, outcome: JobResult) -> JobRecord:
        """The end of a job run here; the stored record when it had already ended elsewhere."""
        ...

    async def end(
        self, job_id: str, status: JobStatus, error: str, *, only_from: JobStatus | None = None, strict: bool = False
    ) -> JobRecord | None:
        """End a job this process does not run; None when it had already ended (unless `strict`)."""
        ...
