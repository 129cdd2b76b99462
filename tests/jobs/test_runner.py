"""The job runner in-process: lifecycle, timeouts, cancellation, worker processes, recovery."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from app.jobs.context import JobContext
from app.jobs.errors import IllegalTransition, InvalidParams, UnknownJobKind
from app.jobs.kinds import JobKind
from app.jobs.models import JobDef, JobRecord
from app.jobs.runner import JobRunner
from app.jobs.status import JobStatus, check_transition
from app.jobs.store import JobStore
from app.jobs.worker import WorkerPool
from app.storage.db import Database
from tests.jobs import work


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = 3
    mode: str = "count"


async def handler(ctx: JobContext, p: Params) -> dict[str, Any]:
    if p.mode == "count":
        return {"n": await ctx.run_in_worker(work.count, p.n)}
    if p.mode == "spin":
        await ctx.run_in_worker(work.spin)
    if p.mode == "boom":
        await ctx.run_in_worker(work.boom)
    if p.mode == "sleep":
        await asyncio.Event().wait()
    return {}


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []
        self.changed = asyncio.Event()

    def _add(self, name: str, job: JobRecord, extra: Any = None) -> None:
        self.events.append((name, job.job_id, extra))
        self.changed.set()

    async def submitted(self, job: JobRecord) -> None:
        self._add("submitted", job)

    async def started(self, job: JobRecord) -> None:
        self._add("started", job)

    async def progressed(self, job: JobRecord, metrics: Any) -> None:
        self._add("progress", job, job.progress)

    async def finished(self, job: JobRecord) -> None:
        self._add("finished", job, (job.status, job.error))

    async def until(self, predicate: Any) -> None:
        while not predicate(self.events):
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 15)


@pytest.fixture
def db(database: Database) -> Database:
    """SQLite and PostgreSQL (tests/conftest.py)."""
    return database


def make_runner(db: Database, events: Recorder, limit: int = 1) -> JobRunner:
    return JobRunner(
        store=JobStore(db),
        kinds=[JobKind("test", "training", Params, handler, 5.0)],
        events={"training": events},
        limits={"training": limit},
        pool=WorkerPool(grace=1.0),
        timeouts={"test": 5.0},
    )


def test_transitions_are_checked_in_one_place() -> None:
    check_transition("j", JobStatus.QUEUED, JobStatus.RUNNING)
    with pytest.raises(IllegalTransition, match="succeeded; it cannot become running"):
        check_transition("j", JobStatus.SUCCEEDED, JobStatus.RUNNING)
    assert all(s.terminal for s in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED))


async def test_lifecycle_errors_limit_and_cancel(db: Database) -> None:
    events = Recorder()
    runner = make_runner(db, events)
    with pytest.raises(UnknownJobKind):
        await runner.submit("nope", {})
    with pytest.raises(InvalidParams) as bad:
        await runner.submit("test", {"n": "x", "extra": 1})
    assert {p.loc for p in bad.value.problems} == {("n",), ("extra",)}

    ok = await runner.submit("test", {"n": 4})
    spinning = await runner.submit("test", {"mode": "spin"})  # waits: the limit is 1
    failing = await runner.submit("test", {"mode": "boom"})
    done = await runner.wait(ok.job_id)
    assert done.status is JobStatus.SUCCEEDED and done.result == {"n": 4}
    progress = [e[2] for e in events.events if e[0] == "progress" and e[1] == ok.job_id]
    assert progress == [0.25, 0.5, 0.75, 1.0]
    await events.until(lambda ev: ("started", spinning.job_id, None) in ev)
    assert (await runner.store.get(failing.job_id)).status is JobStatus.QUEUED
    cancelled = await runner.cancel(failing.job_id)  # queued: ends at once
    assert (await runner.wait(failing.job_id)).status is JobStatus.CANCELLED
    await runner.cancel(spinning.job_id)
    ended = await runner.wait(spinning.job_id)
    assert ended.status is JobStatus.CANCELLED and ended.error == "cancelled on request" and ended.worker_pid is None
    with pytest.raises(IllegalTransition):
        await runner.cancel(spinning.job_id)
    assert cancelled.job_id == failing.job_id
    again = await runner.submit("test", {"mode": "boom"})
    assert (await runner.wait(again.job_id)).error == "ValueError: bad input"  # the type raised in the worker
    finished = [e[1] for e in events.events if e[0] == "finished"]
    assert sorted(finished) == sorted({ok.job_id, spinning.job_id, failing.job_id, again.job_id})


async def test_timeout_and_shutdown_and_recovery(db: Database) -> None:
    events = Recorder()
    runner = JobRunner(
        store=JobStore(db),
        kinds=[JobKind("test", "training", Params, handler, 0.2)],
        events={"training": events},
        limits={"training": 1},
        pool=WorkerPool(grace=1.0),
    )
    slow = await runner.submit("test", {"mode": "sleep"})
    ended = await runner.wait(slow.job_id)
    assert ended.status is JobStatus.FAILED and ended.error == "timed out after 0.2 s"

    runner = make_runner(db, events)
    running = await runner.submit("test", {"mode": "sleep"})
    queued = await runner.submit("test", {"mode": "sleep"})
    await events.until(lambda ev: ("started", running.job_id, None) in ev)
    await runner.close()
    assert (await runner.store.get(running.job_id)).error == "interrupted: the server shut down while it was running"
    assert (await runner.store.get(queued.job_id)).error == "interrupted: the server shut down before it started"

    # A crash leaves rows behind; the next process ends them and says so.
    store = JobStore(db)
    left = await store.insert(JobDef("crashed", "training", "test", {}, 5.0, 0.0))
    await store.transition(left.job_id, JobStatus.RUNNING, started_ts=1.0)
    recovered = await make_runner(db, events).recover()
    assert [r.job_id for r in recovered] == ["crashed"] and recovered[0].status is JobStatus.FAILED
    assert ("finished", "crashed", (JobStatus.FAILED, recovered[0].error)) in events.events


async def test_a_job_stopped_before_its_task_began_still_ends(db: Database) -> None:
    """`submit` returns before the job's task has taken a step; a cancel or a shutdown at that
    moment must still end the job (stored, published, its waiters answered)."""
    events = Recorder()
    runner = make_runner(db, events, limit=2)
    cancelled = await runner.submit("test", {"mode": "sleep"})
    await runner.cancel(cancelled.job_id)  # no await between: its task has not begun
    ended = await asyncio.wait_for(runner.wait(cancelled.job_id), 15)
    assert ended.status is JobStatus.CANCELLED and ended.error == "cancelled on request"

    closed = await runner.submit("test", {"mode": "sleep"})
    waiting = asyncio.ensure_future(runner.wait(closed.job_id))
    await runner.close()
    stopped = await runner.store.get(closed.job_id)
    assert stopped.status is JobStatus.FAILED
    assert stopped.error == "interrupted: the server shut down before it started"
    assert (await asyncio.wait_for(waiting, 15)).status is JobStatus.FAILED
    assert ("finished", closed.job_id, (JobStatus.FAILED, stopped.error)) in events.events
    assert runner.running() == []
