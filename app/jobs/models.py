"""What a job is: its definition (JobDef), its outcome (JobResult), and the stored record."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from app.jobs.status import JobStatus

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class JobDef:
    """A submitted job: what to run and with which (validated) params."""

    job_id: str
    family: str
    kind: str
    params: Json
    timeout: float
    created_ts: float
    parent_id: str | None = None
    schedule_id: int | None = None


@dataclass(frozen=True, slots=True)
class JobResult:
    """How a job ended: the terminal status and what it produced or why it did not."""

    status: JobStatus
    result: Json | None = None
    error: str | None = None
    message: str | None = None
    stats: Json | None = None


@dataclass(slots=True)
class JobRecord:
    """A job as stored: its definition plus where it is now."""

    job_id: str
    family: str
    kind: str
    params: Json
    status: JobStatus
    progress: float
    timeout: float
    created_ts: float
    message: str | None = None
    stats: Json | None = None
    result: Json | None = None
    error: str | None = None
    parent_id: str | None = None
    schedule_id: int | None = None
    worker_pid: int | None = None
    started_ts: float | None = None
    finished_ts: float | None = None
    extra: Json = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Any) -> JobRecord:
        return cls(
            job_id=row.job_id,
            family=row.family,
            kind=row.kind,
            params=row.params,
            status=JobStatus(row.status),
            progress=row.progress,
            timeout=row.timeout,
            created_ts=row.created_ts,
            message=row.message,
            stats=row.stats,
            result=row.result,
            error=row.error,
            parent_id=row.parent_id,
            schedule_id=row.schedule_id,
            worker_pid=row.worker_pid,
            started_ts=row.started_ts,
            finished_ts=row.finished_ts,
        )

    def public(self) -> Json:
        """The record as REST shows it."""
        out = asdict(self)
        out.pop("extra")
        out["status"] = self.status.value
        out["duration"] = (
            round(self.finished_ts - self.started_ts, 3)
            if self.finished_ts is not None and self.started_ts is not None
            else None
        )
        return out
