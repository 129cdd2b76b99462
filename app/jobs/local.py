"""The local launcher: jobs run in this process as asyncio tasks, one lane (semaphore) per
family, CPU-heavy work in worker processes (worker.py).

A job's task begins its run at once, but a task cancelled before its first step never runs
its code at all (asyncio throws into a coroutine that has not started): such a job is ended
by whoever cancelled it (`abort`, `close`), so every job ends with a stored terminal status
and its event, however early it was stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from app.jobs.context import JobContext
from app.jobs.errors import IllegalTransition, JobAborted, JobFailed, JobNotFound, WorkerDied, WorkerError
from app.jobs.host import JobLifecycle
from app.jobs.kinds import JobKind
from app.jobs.models import JobRecord, JobResult
from app.jobs.status import JobStatus
from app.jobs.worker import WorkerPool

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Handle:
    """A job this process runs: its task, whether it began, whether it was asked to stop, its end."""

    job: JobRecord
    task: asyncio.Task[None] | None = None
    begun: bool = False
    abort_reason: str | None = None
    done: asyncio.Future[JobRecord] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def live(self) -> bool:
        return self.task is not None and not self.task.done()


class LocalLauncher:
    """Runs jobs in this process.

    :param lifecycle: the runner: status changes, stored then published.
    :param limits: jobs of a family that may run at once; others wait `queued`.
    :param pool: the worker processes for CPU-heavy work.
    :param where: this process in interruption messages.
    :param release: awaited with a job's id once it has ended (the queue launcher's holder entry).
    """

    def __init__(
        self,
        lifecycle: JobLifecycle,
        *,
        limits: Mapping[str, int],
        pool: WorkerPool,
        where: str = "the server",
        release: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.lifecycle = lifecycle
        self._lanes = {family: asyncio.Semaphore(n) for family, n in limits.items()}
        self.pool = pool
        self.where = where
        self._release = release
        self.handles: dict[str, Handle] = {}
        self.closing = False

    # --- the Launcher interface ---------------------------------------------------------

    async def start(self) -> list[JobRecord]:
        return await self.recover()

    async def recover(self) -> list[JobRecord]:
        """Every job left queued or running (by a previous process: this one runs no others)."""
        ended: list[JobRecord] = []
        for job in await self.lifecycle.store.unfinished():
            if job.job_id in self.handles:  # ours, still running (a leader elected again)
                continue
            was = "while it was running" if job.status is JobStatus.RUNNING else "before it started"
            record = await self.lifecycle.end(
                job.job_id,
                JobStatus.FAILED,
                f"interrupted: the server stopped {was} (found {job.status.value} at start-up)",
            )
            if record is not None:
                ended.append(record)
        if ended:
            log.warning("ended %d jobs left unfinished by the previous process", len(ended))
        return ended

    async def launch(self, record: JobRecord, kind: JobKind, params: BaseModel) -> JobRecord:
        await self.run_here(record, kind, params)
        return record

    async def run_here(self, record: JobRecord, kind: JobKind, params: BaseModel) -> asyncio.Future[JobRecord]:
        return self.run(record, kind, params).done

    async def cancel_elsewhere(self, record: JobRecord, reason: str) -> JobRecord:
        """Not ours (left by another process, and not yet recovered): end it here."""
        ended = await self.lifecycle.end(record.job_id, JobStatus.CANCELLED, reason, strict=True)
        assert ended is not None
        return ended

    async def close(self) -> None:
        """Stop every job (each ends failed, saying this process shut down) and wait for them."""
        self.closing = True
        handles = [h for h in self.handles.values() if h.task is not None]
        for handle in handles:
            assert handle.task is not None
            handle.task.cancel()
        await asyncio.gather(*(h.task for h in handles if h.task is not None), return_exceptions=True)
        for handle in handles:
            if not handle.begun:
                await self._settle(handle, self._interrupted(handle, started=False))

    # --- jobs run here ------------------------------------------------------------------

    def run(self, record: JobRecord, kind: JobKind, params: BaseModel) -> Handle:
        handle = Handle(record)
        self.handles[record.job_id] = handle
        handle.task = asyncio.create_task(self._run(handle, kind, params), name=f"job {record.job_id}")
        return handle

    def live(self, job_id: str) -> Handle | None:
        """The job's handle while its task runs here."""
        handle = self.handles.get(job_id)
        return handle if handle is not None and handle.live else None

    async def abort(self, handle: Handle, reason: str) -> None:
        """Ask a job running here to stop (it ends `cancelled`), and its children with it."""
        if handle.abort_reason is not None:
            return
        handle.abort_reason = reason
        assert handle.task is not None
        handle.task.cancel()
        if not handle.begun:
            await self._settle(handle, self._interrupted(handle, started=False))
        for child in [h for h in self.handles.values() if h.job.parent_id == handle.job.job_id]:
            with contextlib.suppress(IllegalTransition, JobNotFound):
                await self.lifecycle.cancel(child.job.job_id, f"its parent run {handle.job.job_id} was cancelled")

    def running(self) -> list[JobRecord]:
        """Jobs this process is running or has queued."""
        return [h.job for h in self.handles.values()]

    async def _run(self, handle: Handle, kind: JobKind, params: object) -> None:
        handle.begun = True  # before any await: from here on a cancellation lands in the `try`
        job = handle.job
        outcome: JobResult
        started = False
        try:
            async with self._lanes[job.family]:
                record = await self.lifecycle.begin(job)
                handle.job = record
                started = True
                ctx = JobContext(self.lifecycle, record, self.pool)
                async with asyncio.timeout(job.timeout) as deadline:
                    try:
                        result = await kind.handler(ctx, params)
                    except asyncio.CancelledError:
                        if deadline.expired() or handle.abort_reason is not None or self.closing:
                            raise
                        raise JobFailed("the job's task was cancelled") from None
                outcome = JobResult(JobStatus.SUCCEEDED, result=result, message=record.message, stats=record.stats)
        except TimeoutError:
            outcome = JobResult(JobStatus.FAILED, error=f"timed out after {job.timeout:g} s")
        except asyncio.CancelledError:
            outcome = self._interrupted(handle, started)
        except IllegalTransition as e:  # ended elsewhere before it could start: `finish` leaves it
            outcome = JobResult(JobStatus.FAILED, error=str(e))
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
        await asyncio.shield(self._settle(handle, outcome))

    def _interrupted(self, handle: Handle, started: bool) -> JobResult:
        """How a job whose task was cancelled ends: cancelled on request, else this process shut down."""
        if handle.abort_reason is not None:
            return JobResult(JobStatus.CANCELLED, error=handle.abort_reason)
        was = "while it was running" if started else "before it started"
        return JobResult(JobStatus.FAILED, error=f"interrupted: {self.where} shut down {was}")

    async def _settle(self, handle: Handle, outcome: JobResult) -> None:
        """The job's end, stored and published (once), its handle gone, its waiters answered."""
        record = await self.lifecycle.finish(handle.job.job_id, outcome)
        self.handles.pop(record.job_id, None)
        if self._release is not None:
            await self._release(record.job_id)
        if not handle.done.done():
            handle.done.set_result(record)
