"""Schedules fire at exchange-local times on a controllable clock; missed slots coalesce."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from app.automation.scheduler import Scheduler
from app.automation.schedules import ScheduleStore
from app.jobs.models import JobRecord
from app.jobs.status import JobStatus
from app.market.calendar import IST
from app.market.clock import ManualClock
from app.storage.db import Database


def ist(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=IST).timestamp()


class Submitted:
    """A fake runner: records what the scheduler starts, and when (on the clock)."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.runs: list[tuple[str, dict[str, Any], int, float]] = []
        self.arrived = asyncio.Event()

    async def __call__(self, kind: str, params: dict[str, Any], schedule_id: int) -> JobRecord:
        self.runs.append((kind, params, schedule_id, self.clock.now()))
        self.arrived.set()
        return JobRecord(f"job{len(self.runs)}", "automation", kind, params, JobStatus.QUEUED, 0.0, 60.0, 0.0)

    async def next(self) -> tuple[str, dict[str, Any], int, float]:
        await asyncio.wait_for(self.arrived.wait(), 5)
        self.arrived.clear()
        return self.runs[-1]


@pytest.fixture
def db(database: Database) -> Database:
    """SQLite and PostgreSQL (tests/conftest.py)."""
    return database


async def test_fires_at_exchange_local_times(db: Database) -> None:
    clock = ManualClock(ist("2024-01-25 09:00"))  # a Thursday
    store = ScheduleStore(db, clock.now)
    runs = Submitted(clock)
    scheduler = Scheduler(store=store, submit=runs, clock=clock)
    created = await store.create(
        name="square off", kind="square_off", params={}, cron="20 15 * * 1-5", timezone="Asia/Kolkata"
    )
    assert created["next_ts"] == ist("2024-01-25 15:20")
    scheduler.start()
    try:
        assert await clock.next_wakeup() == ist("2024-01-25 15:20")  # asleep until the slot, IST
        clock.advance_to(ist("2024-01-25 15:19:59"))
        await asyncio.sleep(0)
        assert runs.runs == []
        assert await clock.step() == ist("2024-01-25 15:20")
        kind, _, schedule_id, at = await runs.next()
        assert (kind, schedule_id, at) == ("square_off", created["schedule_id"], ist("2024-01-25 15:20"))
        # Friday, then the weekend is skipped: Monday.
        assert await clock.step() == ist("2024-01-26 15:20")
        await runs.next()
        assert await clock.next_wakeup() == ist("2024-01-29 15:20")
        stored = await store.get(created["schedule_id"])
        assert stored["last_slot_ts"] == ist("2024-01-26 15:20") and stored["last_job_id"] == "job2"
    finally:
        await scheduler.close()
    assert len(runs.runs) == 2


async def test_missed_slots_run_once_at_start_up(db: Database) -> None:
    clock = ManualClock(ist("2024-01-22 08:00"))  # Monday
    store = ScheduleStore(db, clock.now)
    await store.create(
        name="retrain", kind="retrain", params={"kinds": ["ridge"]}, cron="0 9 * * *", timezone="Asia/Kolkata"
    )
    await store.create(name="later", kind="prune", params={}, cron="0 18 * * *", timezone="Asia/Kolkata")
    # The server was down from Monday 08:00 to Thursday 12:00: four 09:00 slots and three 18:00 slots passed.
    clock.advance_to(ist("2024-01-25 12:00"))
    runs = Submitted(clock)
    scheduler = Scheduler(store=store, submit=runs, clock=clock)
    started = await scheduler.fire_due()
    assert [r.kind for r in started] == ["retrain", "prune"]  # once each, not once per missed slot
    assert await scheduler.fire_due() == []
    schedules = {s["name"]: s for s in await store.all()}
    assert schedules["retrain"]["last_slot_ts"] == ist("2024-01-25 09:00")
    assert schedules["retrain"]["next_ts"] == ist("2024-01-26 09:00")
    assert schedules["later"]["next_ts"] == ist("2024-01-25 18:00")


async def test_edits_retime_and_wake_the_scheduler(db: Database) -> None:
    clock = ManualClock(ist("2024-01-25 09:00"))
    store = ScheduleStore(db, clock.now)
    runs = Submitted(clock)
    scheduler = Scheduler(store=store, submit=runs, clock=clock)
    created = await store.create(name="eval", kind="evaluate", params={}, cron="0 16 * * *", timezone="Asia/Kolkata")
    scheduler.start()
    try:
        assert await clock.next_wakeup() == ist("2024-01-25 16:00")
        await store.update(created["schedule_id"], cron="30 10 * * *")
        scheduler.notify()
        while await clock.next_wakeup() != ist("2024-01-25 10:30"):
            await asyncio.sleep(0)
        await store.update(created["schedule_id"], enabled=False)
        scheduler.notify()
        clock.advance_to(ist("2024-01-25 11:00"))
        assert await scheduler.fire_due() == []
        assert runs.runs == []
        assert (await store.get(created["schedule_id"]))["next_ts"] is None
    finally:
        await scheduler.close()
