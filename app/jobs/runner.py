"""The job runner: the lifecycle of every job and its events; where jobs run is its launcher's
business (launch.py).

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

The default launcher runs jobs in this process (local.py: asyncio tasks, CPU-heavy work in
worker processes). With a job queue (SIGNALDESK_JOB_QUEUE=redis) the queue launcher
(distributed.py) hands each job to arq instead, and a `signaldesk worker`'s runner `execute`s
it: the same kinds, contexts, store and events, only in another process; a job whose
holder's lease lapsed is ended `failed` by whichever process notices first.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping

from app.jobs.distributed import QueueLauncher
from app.jobs.errors import IllegalTransition, InvalidParams, JobNotFound, UnknownJobKind
from app.jobs.host import ProgressListener
from app.jobs.kinds import JobEvents, JobKind
from app.jobs.launch import Launcher
from app.jobs.local import LocalLauncher
from app.jobs.models import JobDef, JobRecord, JobResult, Json
from app.jobs.queue import RedisJobQueue
from app.jobs.status import JobStatus
from app.jobs.store import JobStore
from app.jobs.worker import WorkerPool

log = logging.getLogger(__name__)


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
        families = {k.family for k in self.kinds.values()}
        missing = families - set(events) | families - set(limits)
        if missing:
            raise ValueError(f"no events or limit for families {sorted(missing)}")
        unknown = set(timeouts or {}) - set(self.kinds)
        if unknown:
            raise ValueError(f"timeouts for unknown kinds {sorted(unknown)}; kinds: {', '.join(self.kinds)}")
        self.events = dict(events)
        self.pool = pool
        self._timeouts = dict(timeouts or {})
        self._clock = clock
        self._listeners: list[ProgressListener] = []
        self._closing = False
        self.queue = queue
        self.launcher: Launcher
        if queue is None:
            self.here = LocalLauncher(self, limits=limits, pool=pool)
            self.launcher = self.here
        else:
            distributed = QueueLauncher(self, queue, limits=limits, pool=pool)
            self.here, self.launcher = distributed.here, distributed
        self.where = self.launcher.where

    def kinds_of(self, family: str) -> list[str]:
        return [k.name for k in self.kinds.values() if k.family == family]

    def longest_timeout(self) -> float:
        return max(self._timeouts.get(name, kind.timeout) for name, kind in self.kinds.items())

    def now(self) -> float:
        return self._clock()

    # --- start-up and shutdown ----------------------------------------------------------

    async def start(self) -> list[JobRecord]:
        """Open the launcher and end what stopped processes left. Again later (a leader elected
        again): only the recovery."""
        return await self.launcher.start()

    async def recover(self) -> list[JobRecord]:
        """End every job a previous process left queued or running as failed, and say so.

        With a job queue, other processes run jobs too: only those whose holder stopped
        are ended."""
        return await self.launcher.recover()

    async def close(self) -> None:
        """Stop every job (each ends failed, saying this process shut down) and wait for them."""
        self._closing = True
        await self.launcher.close()

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
        return await self.launcher.launch(record, job_kind, validated)

    async def execute(self, job_id: str) -> JobRecord:
        """Run a job another process queued (a worker's part), to its end; a job that ended
        meanwhile (cancelled while queued, or ended by `reap`) is left as it is."""
        record = await self.store.get(job_id)
        if record.status is not JobStatus.QUEUED:
            return record
        kind = self.kinds.get(record.kind)
        if kind is None:
            return await self.end(job_id, JobStatus.FAILED, f"this worker has no kind {record.kind!r}") or record
        try:
            params = kind.validate(record.params)
        except InvalidParams as e:
            return await self.end(job_id, JobStatus.FAILED, str(e)) or record
        done = await self.launcher.run_here(record, kind, params)
        return await asyncio.shield(done)

    async def cancel(self, job_id: str, reason: str = "cancelled on request") -> JobRecord:
        """Ask a job to stop. IllegalTransition when it has already ended; JobNotFound."""
        handle = self.here.live(job_id)
        if handle is None:
            record = await self.store.get(job_id)
            if record.status.terminal:
                raise IllegalTransition(job_id, record.status.value, JobStatus.CANCELLED.value)
            return await self.launcher.cancel_elsewhere(record, reason)
        await self.here.abort(handle, reason)
        return await self.store.get(job_id)

    async def wait(self, job_id: str) -> JobRecord:
        """The job's final record, once it has ended (at once when it already has)."""
        handle = self.here.handles.get(job_id)
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

    def running(self) -> list[JobRecord]:
        """Jobs this process is running or has queued."""
        return self.here.running()

    # --- status changes, each stored then published (the launchers' JobLifecycle) -------

    async def begin(self, job: JobRecord) -> JobRecord:
        record = await self.store.transition(job.job_id, JobStatus.RUNNING, started_ts=self._clock())
        await self.events[job.family].started(record)
        return record

    async def finish(self, job_id: str, outcome: JobResult) -> JobRecord:
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
            record = await self.store.transition(job_id, outcome.status, **fields)
        except IllegalTransition:
            return await self.store.get(job_id)  # already ended (by recover, reap or cancel)
        try:
            await self.events[record.family].finished(record)
        except Exception:
            log.exception("could not publish the end of job %s", record.job_id)
        return record

    async def end(
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
        await self.events[record.family].finished(record)
        return record

    # --- the JobHost of a running job's context -----------------------------------------

    async def report_progress(
        self, job: JobRecord, progress: float, message: str, metrics: Json, stats: Json | None
    ) -> None:
        """Store a running job's progress and publish it."""
        fields: Json = {"progress": progress, "message": message}
        if stats is not None:
            fields["stats"] = stats
        await self.store.set_progress(job.job_id, **fields)
        job.progress, job.message = progress, message
        if stats is not None:
            job.stats = stats
        handle = self.here.handles.get(job.job_id)
        if handle is not None:
            handle.job = job
        await self.events[job.family].progressed(job, metrics)
        for listener in list(self._listeners):
            listener(job)

    async def note_worker(self, job_id: str, pid: int) -> None:
        """The worker process now running the job (cleared when it ends)."""
        await self.store.set_progress(job_id, worker_pid=pid)
