"""Starts automation runs when their schedules come due, on an injected clock.

Each enabled schedule has a next slot (`next_ts`). Whenever the clock passes it, one run is
submitted and the next slot becomes the first one after *now*: slots missed while the server
was down (or busy) coalesce into that single run, at start-up or whenever the scheduler next
looks. Edits wake the scheduler (`notify`). Time is the injected Clock's (exchange time, UTC
epoch seconds); cron expressions are read in each schedule's time zone (Asia/Kolkata by
default), so `30 15 * * 1-5` means 15:30 IST on weekdays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from app.automation.cron import last_slot, next_slot
from app.automation.schedules import ScheduleStore
from app.jobs.errors import JobError
from app.jobs.models import JobRecord
from app.market.clock import Clock

log = logging.getLogger(__name__)
Submit = Callable[[str, dict[str, Any], int], Awaitable[JobRecord]]


class Scheduler:
    """:param submit: `await submit(kind, params, schedule_id)` starts a run."""

    def __init__(self, *, store: ScheduleStore, submit: Submit, clock: Clock) -> None:
        self.store = store
        self._submit = submit
        self.clock = clock
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="scheduler")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def notify(self) -> None:
        """Schedules changed: look again."""
        self._changed.set()

    async def _loop(self) -> None:
        while True:
            self._changed.clear()
            try:
                await self.fire_due()
                upcoming = [s["next_ts"] for s in await self.store.all() if s["enabled"] and s["next_ts"] is not None]
            except Exception:
                log.exception("scheduler pass failed; retrying on the next change or in a minute")
                upcoming = [self.clock.now() + 60]
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._changed.wait())]
            if upcoming:
                waits.append(asyncio.ensure_future(self.clock.sleep_until(min(upcoming))))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()

    async def fire_due(self) -> list[JobRecord]:
        """Submit one run for every enabled schedule whose next slot has passed."""
        now = self.clock.now()
        started: list[JobRecord] = []
        for schedule in await self.store.all():
            slot = schedule["next_ts"]
            if not schedule["enabled"] or slot is None or slot > now:
                continue
            job_id = error = None
            try:
                record = await self._submit(schedule["kind"], schedule["params"], schedule["schedule_id"])
                job_id = record.job_id
                started.append(record)
            except (JobError, RuntimeError) as e:
                error = str(e)
                log.warning("schedule %s (%s) could not start: %s", schedule["schedule_id"], schedule["name"], e)
            following = next_slot(schedule["cron"], schedule["timezone"], now)
            ran = last_slot(schedule["cron"], schedule["timezone"], now)  # the latest of the slots it stands for
            await self.store.fired(schedule["schedule_id"], slot=ran, next_ts=following, job_id=job_id, error=error)
        return started
