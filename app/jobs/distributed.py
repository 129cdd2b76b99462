"""The queue launcher (SIGNALDESK_JOB_QUEUE=redis): new jobs go to arq (queue.py) and a
`signaldesk worker`'s runner runs them (`JobRunner.execute`); a child job runs where its parent
runs (which follows it through in-memory handles), and so does a kind whose params need this
process's live state (`JobKind.needs_server`).

Every process that holds jobs keeps a lease, and the lifecycle gains one rule: a job whose
holder's lease lapsed (the process was killed, or lost Redis) is ended `failed`, "<holder>
stopped while it was running", by whichever process's `reap` notices first. A job is never
retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from pydantic import BaseModel

from app.jobs.errors import IllegalTransition, JobNotFound
from app.jobs.host import JobLifecycle
from app.jobs.kinds import JobKind
from app.jobs.local import LocalLauncher
from app.jobs.models import JobRecord
from app.jobs.queue import RedisJobQueue
from app.jobs.status import JobStatus
from app.jobs.worker import WorkerPool

log = logging.getLogger(__name__)


class QueueLauncher:
    """:param queue: the Redis job queue; this process's holder id names it in messages.
    The jobs this process runs itself run in `here`, as with the local launcher."""

    def __init__(
        self, lifecycle: JobLifecycle, queue: RedisJobQueue, *, limits: Mapping[str, int], pool: WorkerPool
    ) -> None:
        self.lifecycle = lifecycle
        self.queue = queue
        self.where = queue.holder
        self.here = LocalLauncher(lifecycle, limits=limits, pool=pool, where=queue.holder, release=self._release)
        self._watcher: asyncio.Task[None] | None = None

    async def start(self) -> list[JobRecord]:
        """Open the queue and watch leases and aborts (the first time); reap (every time)."""
        first = self._watcher is None
        if first:
            await self.queue.open()
        ended = await self.recover()
        if first:
            self._watcher = asyncio.create_task(self._watch(), name="job watch")
        return ended

    async def recover(self) -> list[JobRecord]:
        """Other processes run jobs too: only those whose holder stopped are ended."""
        return await self.reap()

    async def launch(self, record: JobRecord, kind: JobKind, params: BaseModel) -> JobRecord:
        if record.parent_id is not None or kind.needs_server(params):
            await self.run_here(record, kind, params)
            return record
        try:
            await self.queue.enqueue(record.job_id)
        except Exception as e:  # noqa: BLE001 - Redis unreachable: the job ends, saying so
            log.exception("could not queue job %s", record.job_id)
            error = f"could not reach the job queue: {e}"
            return await self.lifecycle.end(record.job_id, JobStatus.FAILED, error) or record
        return record

    async def run_here(self, record: JobRecord, kind: JobKind, params: BaseModel) -> asyncio.Future[JobRecord]:
        """Hold the job (before it can run), then run it here."""
        await self.queue.hold(record.job_id)
        return self.here.run(record, kind, params).done

    async def cancel_elsewhere(self, record: JobRecord, reason: str) -> JobRecord:
        """Its holder (if any) stops it and ends it cancelled; one still waiting ends now."""
        await self.queue.request_abort(record.job_id)
        if record.status is JobStatus.QUEUED:
            ended = await self.lifecycle.end(record.job_id, JobStatus.CANCELLED, reason, only_from=JobStatus.QUEUED)
            if ended is not None:
                return ended
        return await self.lifecycle.store.get(record.job_id)

    async def close(self) -> None:
        await self.here.close()
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        await self.queue.close()

    async def _release(self, job_id: str) -> None:
        try:
            await self.queue.release(job_id)
        except Exception:  # noqa: BLE001 - a stale entry only names a holder of an ended job
            log.exception("could not release job %s", job_id)

    async def reap(self) -> list[JobRecord]:
        """End as failed every unfinished job that no live process holds: its holder's lease
        lapsed; or it is running with no holder (left by a process without a queue); or it is
        queued, older than a lease, with no holder, and arq no longer has it."""
        jobs = await self.lifecycle.store.unfinished()
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
            elif self.lifecycle.now() - job.created_ts > self.queue.lease and not await self.queue.in_queue(job.job_id):
                error = "lost: neither the job queue nor any process has it"
            else:
                continue
            record = await self.lifecycle.end(job.job_id, JobStatus.FAILED, error)
            await self._release(job.job_id)
            if record is not None:
                log.warning("job %s: %s", job.job_id, error)
                ended.append(record)
        return ended

    async def _watch(self) -> None:
        """Renew this process's lease, honour abort requests for the jobs it holds, stop those
        others ended while its lease had lapsed, and reap every half lease."""
        tick = min(0.5, self.queue.lease / 3)
        loop = asyncio.get_running_loop()
        next_reap = loop.time()
        while True:
            try:
                kept = await self.queue.renew_lease()
                held = [job_id for job_id, h in self.here.handles.items() if h.live]
                aborted = await self.queue.abort_requests(held) if held else []
                for job_id in aborted:
                    with contextlib.suppress(IllegalTransition, JobNotFound):
                        await self.lifecycle.cancel(job_id)
                await self.queue.forget_aborts(aborted)
                if not kept:
                    for job_id in held:
                        record = await self.lifecycle.store.get(job_id)
                        if record.status.terminal:
                            with contextlib.suppress(IllegalTransition, JobNotFound):
                                await self.lifecycle.cancel(job_id, record.error or "ended elsewhere")
                if loop.time() >= next_reap:
                    next_reap = loop.time() + self.queue.lease / 2
                    await self.reap()
            except Exception:  # noqa: BLE001 - Redis or the database away for a moment: go on
                log.exception("job watch: retrying")
            await asyncio.sleep(tick)
