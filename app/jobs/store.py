"""Jobs in the database. Every status change goes through `transition`, which checks the
lifecycle and makes the change conditional on the stored status, so two writers can never
both end a job."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from app.jobs.errors import IllegalTransition, JobNotFound
from app.jobs.models import JobDef, JobRecord
from app.jobs.status import JobStatus, check_transition, sources_of
from app.jobs.tables import JobRow
from app.storage.db import Database


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, job: JobDef) -> JobRecord:
        row = JobRow(
            job_id=job.job_id,
            family=job.family,
            kind=job.kind,
            params=job.params,
            status=JobStatus.QUEUED.value,
            progress=0.0,
            timeout=job.timeout,
            created_ts=job.created_ts,
            parent_id=job.parent_id,
            schedule_id=job.schedule_id,
        )
        async with self.db.session() as s:
            s.add(row)
        return JobRecord.from_row(row)

    async def get(self, job_id: str) -> JobRecord:
        async with self.db.session() as s:
            row = await s.get(JobRow, job_id)
            if row is None:
                raise JobNotFound(job_id)
            return JobRecord.from_row(row)

    async def find(
        self,
        *,
        family: str | None = None,
        status: JobStatus | None = None,
        kind: str | None = None,
        parent_id: str | None = None,
        limit: int = 100,
    ) -> list[JobRecord]:
        """Newest first."""
        query = select(JobRow).order_by(JobRow.created_ts.desc(), JobRow.job_id.desc()).limit(limit)
        if family is not None:
            query = query.where(JobRow.family == family)
        if status is not None:
            query = query.where(JobRow.status == status.value)
        if kind is not None:
            query = query.where(JobRow.kind == kind)
        if parent_id is not None:
            query = query.where(JobRow.parent_id == parent_id)
        async with self.db.session() as s:
            return [JobRecord.from_row(r) for r in (await s.execute(query)).scalars()]

    async def unfinished(self) -> list[JobRecord]:
        """Jobs queued or running, oldest first (at start-up: what a previous process left)."""
        query = (
            select(JobRow)
            .where(JobRow.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]))
            .order_by(JobRow.created_ts)
        )
        async with self.db.session() as s:
            return [JobRecord.from_row(r) for r in (await s.execute(query)).scalars()]

    async def transition(
        self, job_id: str, target: JobStatus, *, only_from: JobStatus | None = None, **fields: Any
    ) -> JobRecord:
        """Move the job to `target` (with `fields`), only from a state that may lead there
        (and, with `only_from`, only from that one)."""
        allowed = [s.value for s in sources_of(target) if only_from is None or s is only_from]
        async with self.db.session() as s:
            result = await s.execute(
                update(JobRow)
                .where(JobRow.job_id == job_id, JobRow.status.in_(allowed))
                .values(status=target.value, **fields)
            )
            row = await s.get(JobRow, job_id, populate_existing=True)
        if row is None:
            raise JobNotFound(job_id)
        record = JobRecord.from_row(row)
        if result.rowcount == 0:  # type: ignore[attr-defined]
            check_transition(job_id, record.status, target)
            raise IllegalTransition(job_id, record.status.value, target.value)
        return record

    async def set_progress(self, job_id: str, **fields: Any) -> None:
        """Progress, message, stats or worker_pid of a running job (no status change)."""
        async with self.db.session() as s:
            await s.execute(
                update(JobRow).where(JobRow.job_id == job_id, JobRow.status == JobStatus.RUNNING.value).values(**fields)
            )
