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
processes (worker.py). With a job queue (queue.py, SIGNALDESK_JOB_QUEUE=redis) `_launch`
hands each job to arq instead, and a `signaldesk worker`'s runner `execute`s it: the same
kinds, contexts, store and events, only in another process. Every process that holds jobs
then keeps a lease, and the lifecycle gains one rule: a job whose holder's lease lapsed
(the process was killed, or lost Redis) is ended `failed`, "<holder> stopped while it was
running", by whichever process's `reap` notices first. A job is never retried. Children of
a job (a retrain's training jobs) run in the process of their parent, and so does a kind
whose params need this process's live state (`JobKind.needs_server`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from app.jobs.context import JobContext
from app.jobs.errors import (
    IllegalTransition,
    InvalidParams,
    JobAborted,
    JobFailed,
    JobNotFound,
    UnknownJobKind,
    WorkerDied,
    WorkerError,
)
from app.jobs.kinds import JobEvents, JobKind
from app.jobs.models import JobDef, JobRecord, JobResult, Json
from app.jobs.queue import RedisJobQueue
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
    :param queue: the Redis job queue; None: every job runs in this process.
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
        queue: RedisJobQueue | None = None,
    ) -> None:
        self.store = store
        self.kinds = {k.name: k for k in kinds}
        missing = {k.family for k in self.kinds.values()} - set(events) | {k.family for k in self.kinds.values()} - set(
            limits
        )
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
        self.queue = queue
        self.where = queue.holder if queue is not None else "the server"
        self._watcher: asyncio.Task[None] | None = None

    def kinds_of(self, family: str) -> list[str]:
        return [k.name for k in self.kinds.values() if k.family == family]

    def longest_timeout(self) -> float:
        return max(self._timeouts.get(name, kind.timeout) for name, kind in self.kinds.items())

    # --- start-up and shutdown ----------------------------------------------------------

    async def start(self) -> list[JobRecord]:
        """Open the job queue (if any), end what stopped processes left, watch leases and aborts.
        Again later (a leader elected again): only the recovery."""
        first = self._watcher is None
        if self.queue is not None and first:
            await self.queue.open()
        ended = await self.recover()
        if self.queue is not None and first:
            self._watcher = asyncio.create_task(self._watch(), name="job watch")
        return ended

    async def recover(self) -> list[JobRecord]:
        """End every job a previous process left queued or running as failed, and say so.

        With a job queue, other processes run jobs too: only those whose holder stopped
        are ended (`reap`)."""
        if self.queue is not None:
            return await self.reap()
        ended: list[JobRecord] = []
        for job in await self.store.unfinished():
            if job.job_id in self._handles:  # ours, still running (a leader elected again)
                continue
            was = "while it was running" if job.status is JobStatus.RUNNING else "before it started"
            record = await self._end(
                job.job_id,
                JobStatus.FAILED,
                f"interrupted: the server stopped {was} (found {job.status.value} at start-up)",
            )
            if record is not None:
                ended.append(record)
        if ended:
            log.warning("ended %d jobs left unfinished by the previous process", len(ended))
        return ended

    async def close(self) -> None:
        """Stop every job (each ends failed, saying this process shut down) and wait for them."""
        self._closing = True
        tasks = [h.task for h in self._handles.values() if h.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        if self.queue is not None:
            await self.queue.close()

    # --- submit, cancel, wait -----------------------------------------------------------

    async def submit(
        self,
        kind: str,
        params: object,
        *,
        family: str | None = None,
        parent_id: str | None = None,
        schedule_id: int | None = None,
    ) -> JobRecord:
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
        await self.events[job.family].submitted(record)
        return await self._launch(record, job_kind, validated)

    async def _launch(self, record: JobRecord, kind: JobKind, params: BaseModel) -> JobRecord:
        """Hand a new job to the job queue, or run it here: a child runs where its parent runs
        (which follows it through in-memory handles), and so does a job that needs this
        process's live state."""
        if self.queue is None or record.parent_id is not None or kind.needs_server(params):
            await self._run_here(record, kind, params)
            return record
        try:
            await self.queue.enqueue(record.job_id)
        except Exception as e:  # noqa: BLE001 - Redis unreachable: the job ends, saying so
            log.exception("could not queue job %s", record.job_id)
            return await self._end(record.job_id, JobStatus.FAILED, f"could not reach the job queue: {e}") or record
        return record

    async def _run_here(self, record: JobRecord, kind: JobKind, params: BaseModel) -> _Handle:
        """Start the job in this process (holding it first, with a queue: before it can run)."""
        if self.queue is not None:
            await self.queue.hold(record.job_id)
        handle = _Handle(record)
        self._handles[record.job_id] = handle
        handle.task = asyncio.create_task(self._run(handle, kind, params), name=f"job {record.job_id}")
        return handle

    async def execute(self, job_id: str) -> JobRecord:
        """Run a job another process queued (a worker's part), to its end; a job that ended
        meanwhile (cancelled while queued, or ended by `reap`) is left as it is."""
        record = await self.store.get(job_id)
        if record.status is not JobStatus.QUEUED:
            return record
        kind = self.kinds.get(record.kind)
        if kind is None:
            return await self._end(job_id, JobStatus.FAILED, f"this worker has no kind {record.kind!r}") or record
        try:
            params = kind.validate(record.params)
        except InvalidParams as e:
            return await self._end(job_id, JobStatus.FAILED, str(e)) or record
        handle = await self._run_here(record, kind, params)
        return await asyncio.shield(handle.done)

    async def cancel(self, job_id: str, reason: str = "cancelled on request") -> JobRecord:
        """Ask a job to stop. IllegalTransition when it has already ended; JobNotFound."""
        handle = self._handles.get(job_id)
        if handle is None or handle.task is None or handle.task.done():
            record = await self.store.get(job_id)
            if record.status.terminal:
                raise IllegalTransition(job_id, record.status.value, JobStatus.CANCELLED.value)
            if self.queue is None:
                # Not ours (left by another process, and not yet recovered): end it here.
                ended = await self._end(job_id, JobStatus.CANCELLED, reason, strict=True)
                assert ended is not None
                return ended
            # Its holder (if any) stops it and ends it cancelled; one still waiting ends now.
            await self.queue.request_abort(job_id)
            if record.status is JobStatus.QUEUED:
                ended = await self._end(job_id, JobStatus.CANCELLED, reason, only_from=JobStatus.QUEUED)
                if ended is not None:
                    return ended
            return await self.store.get(job_id)
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
                outcome = JobResult(JobStatus.FAILED, error=f"interrupted: {self.where} shut down {was}")
        except IllegalTransition as e:  # ended elsewhere before it could start: `_finish` leaves it
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
        final = await asyncio.shield(self._finish(handle, outcome))
        if not handle.done.done():
            handle.done.set_result(final)

    async def _finish(self, handle: _Handle, outcome: JobResult) -> JobRecord:
        fields: Json = {
            "finished_ts": self._clock(),
            "worker_pid": None,
            "result": outcome.result,
            "error": outcome.error,
        }
        if outcome.status is JobStatus.SUCCEEDED:
            fields["progress"] = 1.0
        if outcome.stats is not None:
            fields["stats"] = outcome.stats
        try:
            record = await self.store.transition(handle.job.job_id, outcome.status, **fields)
        except IllegalTransition:
            record = await self.store.get(handle.job.job_id)  # already ended (by recover, reap or cancel)
        else:
            handle.job = record
            try:
                await self._publish_finished(record)
            except Exception:
                log.exception("could not publish the end of job %s", record.job_id)
        self._handles.pop(record.job_id, None)
        await self._release(record.job_id)
        return record

    async def _end(
        self, job_id: str, status: JobStatus, error: str, *, only_from: JobStatus | None = None, strict: bool = False
    ) -> JobRecord | None:
        """End a job this process does not run: store, then publish. None when it had already
        ended (or, with `only_from`, left that state), unless `strict` (IllegalTransition)."""
        try:
            record = await self.store.transition(
                job_id, status, only_from=only_from, error=error, finished_ts=self._clock(), worker_pid=None
            )
        except IllegalTransition:
            if strict:
                raise
            return None
        await self._publish_finished(record)
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

    # --- with a job queue: holding, leases, aborts, reaping ------------------------------

    async def _release(self, job_id: str) -> None:
        if self.queue is None:
            return
        try:
            await self.queue.release(job_id)
        except Exception:  # noqa: BLE001 - a stale entry only names a holder of an ended job
            log.exception("could not release job %s", job_id)

    async def reap(self) -> list[JobRecord]:
        """End as failed every unfinished job that no live process holds: its holder's lease
        lapsed; or it is running with no holder (left by a process without a queue); or it is
        queued, older than a lease, with no holder, and arq no longer has it."""
        assert self.queue is not None
        jobs = await self.store.unfinished()
        holders = await self.queue.holders([j.job_id for j in jobs])
        alive = await self.queue.alive(holders.values())
        ended: list[JobRecord] = []
        for job in jobs:
            holder = holders.get(job.job_id)
            was = "while it was running" if job.status is JobStatus.RUNNING else "before it started"
            if holder is not None:
                if holder in alive:
                    continue
                error = f"{holder} stopped {was} (its lease lapsed)"
            elif job.status is JobStatus.RUNNING:
                error = "interrupted: no live process holds it (found running)"
            elif self._clock() - job.created_ts > self.queue.lease and not await self.queue.in_queue(job.job_id):
                error = "lost: neither the job queue nor any process has it"
            else:
                continue
            record = await self._end(job.job_id, JobStatus.FAILED, error)
            await self._release(job.job_id)
            if record is not None:
                log.warning("job %s: %s", job.job_id, error)
                ended.append(record)
        return ended

    async def _watch(self) -> None:
        """Renew this process's lease, honour abort requests for the jobs it holds, stop those
        others ended while its lease had lapsed, and reap every half lease."""
        assert self.queue is not None
        tick = min(0.5, self.queue.lease / 3)
        loop = asyncio.get_running_loop()
        next_reap = loop.time()
        while True:
            try:
                kept = await self.queue.renew_lease()
                held = [job_id for job_id, h in self._handles.items() if h.task is not None and not h.task.done()]
                aborted = await self.queue.abort_requests(held) if held else []
                for job_id in aborted:
                    with contextlib.suppress(IllegalTransition, JobNotFound):
                        await self.cancel(job_id)
                await self.queue.forget_aborts(aborted)
                if not kept:
                    for job_id in held:
                        record = await self.store.get(job_id)
                        if record.status.terminal:
                            with contextlib.suppress(IllegalTransition, JobNotFound):
                                await self.cancel(job_id, record.error or "ended elsewhere")
                if loop.time() >= next_reap:
                    next_reap = loop.time() + self.queue.lease / 2
                    await self.reap()
            except Exception:  # noqa: BLE001 - Redis or the database away for a moment: go on
                log.exception("job watch: retrying")
            await asyncio.sleep(tick)
