"""The job runner: submit, run under a per-family concurrency limit and a per-kind timeout,
cancel, and recover what a previous process left behind.

Lifecycle (status.py): queued -> running -> succeeded | failed | cancelled. Every change is
stored before its event is published, and the final write of a job is shielded from
cancellation, so a job always ends with a stored terminal status and its terminal event:
- cancel: a request; a queued job ends at once, a running one when its handler (or its
  worker process) honours it: `cancelled`;
- timeout: `failed`, "timed out after N s";
- a worker process killed or crashed: `failed`, naming the signal or exit code;
- the server shutting down: running and queued jobs end `failed`, saying so;
- a server that died: at the next start-up, `recover()` ends every job still queued or
  running as `failed` ("the server stopped while ...") and publishes its terminal event.

The default is in-process: jobs are asyncio tasks and CPU-heavy work runs in worker
processes (worker.py). A distributed queue would replace `_launch` and the in-memory
handles; the store, the kinds, the events and the contexts stay as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from app.jobs.context import JobContext
from app.jobs.errors import (
    IllegalTransition,
    JobAborted,
    JobFailed,
    JobNotFound,
    UnknownJobKind,
    WorkerDied,
    WorkerError,
)
from app.jobs.kinds import JobEvents, JobKind
from app.jobs.models import JobDef, JobRecord, JobResult, Json
from app.jobs.status import JobStatus
from app.jobs.store import JobStore
from app.jobs.worker import WorkerPool

log = logging.getLogger(__name__)
ProgressListener = Callable[[JobRecord], None]


@dataclass(eq=False)
class _Handle:
    """A job this process runs: its task, whether it was asked to stop, and its end."""

    job: JobRecord
    task: asyncio.Task[None] | None = None
    abort_reason: str | None = None
    done: asyncio.Future[JobRecord] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class JobRunner:
    """Runs jobs of the given kinds.

    :param store: where jobs are persisted.
    :param kinds: every kind this runner accepts (explicitly listed, nothing auto-registered).
    :param events: the event publisher of each family (`training`, `automation`).
    :param limits: jobs of a family that may run at once; others wait `queued`.
    :param pool: the worker processes for CPU-heavy work.
    :param timeouts: per-kind overrides of JobKind.timeout, in seconds.
    :param clock: wall-clock epoch seconds (timestamps only).
    """

    def __init__(
        self,
        *,
        store: JobStore,
        kinds: Iterable[JobKind],
        events: Mapping[str, JobEvents],
        limits: Mapping[str, int],
        pool: WorkerPool,
        timeouts: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.kinds = {k.name: k for k in kinds}
        missing = {k.family for k in self.kinds.values()} - set(events) | {k.family for k in self.kinds.values()} - set(limits)
        if missing:
            raise ValueError(f"no events or limit for families {sorted(missing)}")
        unknown = set(timeouts or {}) - set(self.kinds)
        if unknown:
            raise ValueError(f"timeouts for unknown kinds {sorted(unknown)}; kinds: {', '.join(self.kinds)}")
        self.events = dict(events)
        self._lanes = {family: asyncio.Semaphore(n) for family, n in limits.items()}
        self.pool = pool
        self._timeouts = dict(timeouts or {})
        self._clock = clock
        self._handles: dict[str, _Handle] = {}
        self._listeners: list[ProgressListener] = []
        self._closing = False

    def kinds_of(self, family: str) -> list[str]:
        return [k.name for k in self.kinds.values() if k.family == family]

    # --- start-up and shutdown ----------------------------------------------------------

    async def recover(self) -> list[JobRecord]:
        """End every job a previous process left queued or running as failed, and say so."""
        ended: list[JobRecord] = []
        for job in await self.store.unfinished():
            was = "while it was running" if job.status is JobStatus.RUNNING else "before it started"
            error = f"interrupted: the server stopped {was} (found {job.status.value} at start-up)"
            with contextlib.suppress(IllegalTransition):
                record = await self.store.transition(
                    job.job_id, JobStatus.FAILED, error=error, finished_ts=self._clock(), worker_pid=None
                )
                await self._publish_finished(record)
                ended.append(record)
        if ended:
            log.warning("ended %d jobs left unfinished by the previous process", len(ended))
        return ended

    async def close(self) -> None:
        """Stop every job (each ends failed, saying the server shut down) and wait for them."""
        self._closing = True
        tasks = [h.task for h in self._handles.values() if h.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- submit, cancel, wait -----------------------------------------------------------

    async def submit(
        self, kind: str, params: object, *, family: str | None = None, parent_id: str | None = None,
        schedule_id: int | None = None,
    ) -> JobRecord:  # fmt: skip
        """Validate, store `queued`, publish, and start as soon as a slot is free.

        UnknownJobKind (also for a kind of another family than `family`) or InvalidParams
        when the request is wrong: then nothing is stored.
        """
        job_kind = self.kinds.get(kind)
        if job_kind is None or (family is not None and job_kind.family != family):
            raise UnknownJobKind(kind, self.kinds_of(family) if family else list(self.kinds))
        if self._closing:
            raise RuntimeError("the job runner is shutting down")
        validated = job_kind.validate(params)
        job = JobDef(
            job_id=secrets.token_hex(8),
            family=job_kind.family,
            kind=kind,
            params=validated.model_dump(mode="json"),
            timeout=self._timeouts.get(kind, job_kind.timeout),
            created_ts=self._clock(),
            parent_id=parent_id,
            schedule_id=schedule_id,
        )
        record = await self.store.insert(job)
        handle = _Handle(record)
        self._handles[job.job_id] = handle
        await self.events[job.family].submitted(record)
        handle.task = asyncio.create_task(self._run(handle, job_kind, validated), name=f"job {job.job_id}")
        return record

    async def cancel(self, job_id: str, reason: str = "cancelled on request") -> JobRecord:
        """Ask a job to stop. IllegalTransition when it has already ended; JobNotFound."""
        handle = self._handles.get(job_id)
        if handle is None or handle.task is None or handle.task.done():
            record = await self.store.get(job_id)
            if record.status.terminal:
                raise IllegalTransition(job_id, record.status.value, JobStatus.CANCELLED.value)
            # Not ours (left by another process, and not yet recovered): end it here.
            record = await self.store.transition(job_id, JobStatus.CANCELLED, error=reason, finished_ts=self._clock())
            await self._publish_finished(record)
            return record
        if handle.abort_reason is None:
            handle.abort_reason = reason
            handle.task.cancel()
            for child in [h for h in self._handles.values() if h.job.parent_id == job_id]:
                with contextlib.suppress(IllegalTransition, JobNotFound):
                    await self.cancel(child.job.job_id, f"its parent run {job_id} was cancelled")
        return await self.store.get(job_id)

    async def wait(self, job_id: str) -> JobRecord:
        """The job's final record, once it has ended (at once when it already has)."""
        handle = self._handles.get(job_id)
        if handle is None:
            record = await self.store.get(job_id)
            if not record.status.terminal:
                raise JobNotFound(job_id)  # not run by this process
            return record
        return await asyncio.shield(handle.done)

    def add_progress_listener(self, listener: ProgressListener) -> Callable[[], None]:
        """Call `listener(record)` on every progress report of any job; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # --- running ------------------------------------------------------------------------

    async def _run(self, handle: _Handle, kind: JobKind, params: object) -> None:
        job = handle.job
        outcome: JobResult
        started = False
        try:
            async with self._lanes[job.family]:
                record = await self.store.transition(job.job_id, JobStatus.RUNNING, started_ts=self._clock())
                handle.job = record
                started = True
                await self.events[job.family].started(record)
                ctx = JobContext(self, record, self.pool)
                async with asyncio.timeout(job.timeout) as deadline:
                    try:
                        result = await kind.handler(ctx, params)
                    except asyncio.CancelledError:
                        if deadline.expired() or handle.abort_reason is not None or self._closing:
                            raise
                        raise JobFailed("the job's task was cancelled") from None
                outcome = JobResult(JobStatus.SUCCEEDED, result=result, message=record.message, stats=record.stats)
        except TimeoutError:
            outcome = JobResult(JobStatus.FAILED, error=f"timed out after {job.timeout:g} s")
        except asyncio.CancelledError:
            if handle.abort_reason is not None:
                outcome = JobResult(JobStatus.CANCELLED, error=handle.abort_reason)
            else:
                was = "while it was running" if started else "before it started"
                outcome = JobResult(JobStatus.FAILED, error=f"interrupted: the server shut down {was}")
        except JobAborted as e:
            outcome = JobResult(JobStatus.CANCELLED, error=handle.abort_reason or e.reason)
        except JobFailed as e:
            outcome = JobResult(JobStatus.FAILED, result=e.result, error=e.error)
        except WorkerDied as e:
            outcome = JobResult(JobStatus.FAILED, error=str(e))
        except WorkerError as e:
            outcome = JobResult(JobStatus.FAILED, error=f"{e.type_name}: {e.message}")
        except Exception as e:
            log.exception("job %s (%s) failed", job.job_id, job.kind)
            outcome = JobResult(JobStatus.FAILED, error=f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
        final = await asyncio.shield(self._finish(handle, outcome))
        if not handle.done.done():
            handle.done.set_result(final)

    async def _finish(self, handle: _Handle, outcome: JobResult) -> JobRecord:
        fields: Json = {"finished_ts": self._clock(), "worker_pid": None, "result": outcome.result, "error": outcome.error}
        if outcome.status is JobStatus.SUCCEEDED:
            fields["progress"] = 1.0
        if outcome.stats is not None:
            fields["stats"] = outcome.stats
        try:
            record = await self.store.transition(handle.job.job_id, outcome.status, **fields)
        except IllegalTransition:
            record = await self.store.get(handle.job.job_id)  # already ended (by recover or cancel)
            self._handles.pop(handle.job.job_id, None)
            return record
        handle.job = record
        try:
            await self._publish_finished(record)
        except Exception:
            log.exception("could not publish the end of job %s", record.job_id)
        self._handles.pop(record.job_id, None)
        return record

    async def _publish_finished(self, record: JobRecord) -> None:
        await self.events[record.family].finished(record)

    async def report_progress(
        self, job: JobRecord, progress: float, message: str, metrics: Json, stats: Json | None
    ) -> None:
        """Store a running job's progress and publish it (called by its JobContext)."""
        fields: Json = {"progress": progress, "message": message}
        if stats is not None:
            fields["stats"] = stats
        await self.store.set_progress(job.job_id, **fields)
        job.progress, job.message = progress, message
        if stats is not None:
            job.stats = stats
        handle = self._handles.get(job.job_id)
        if handle is not None:
            handle.job = job
        await self.events[job.family].progressed(job, metrics)
        for listener in list(self._listeners):
            listener(job)

    def running(self) -> list[JobRecord]:
        """Jobs this process is running or has queued."""
        return [h.job for h in self._handles.values()]
