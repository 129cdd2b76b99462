"""Clocks: trading time only, nights/weekends/holidays skipped at once, tests drive them without sleeping."""

from __future__ import annotations

import asyncio
import math

import pytest

from app.market.calendar import NseCalendar
from app.market.clock import ManualClock, SimulatedClock, TradingTime, last_session_open
from tests.market.conftest import ist

# 2024-01-26 (Friday) is Republic Day: Thursday 25th's session is followed by Monday 29th's.
THU_OPEN, THU_CLOSE, MON_OPEN = ist("2024-01-25 09:15"), ist("2024-01-25 15:30"), ist("2024-01-29 09:15")
SESSION = 6 * 3600 + 15 * 60


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_last_session_open_skips_weekend_and_holiday(calendar: NseCalendar) -> None:
    assert last_session_open(calendar, ist("2024-01-28 12:00")) == THU_OPEN  # Sunday, after a Friday holiday
    assert last_session_open(calendar, ist("2024-01-29 09:14")) == THU_OPEN
    assert last_session_open(calendar, MON_OPEN) == MON_OPEN
    assert last_session_open(calendar, ist("2024-01-29 23:00")) == MON_OPEN


def test_trading_time_counts_only_sessions(calendar: NseCalendar) -> None:
    tt = TradingTime(calendar, THU_OPEN)
    assert tt.elapsed(THU_OPEN + 60) == 60
    assert tt.elapsed(THU_CLOSE) == SESSION
    assert tt.elapsed(ist("2024-01-27 12:00")) == SESSION  # Saturday: no trading since Thursday's close
    assert tt.elapsed(MON_OPEN + 60) == SESSION + 60
    assert tt.at(SESSION) == THU_CLOSE  # the close itself, not Monday's open
    assert tt.at(SESSION + 1) == MON_OPEN + 1
    for ts in (THU_OPEN + 3600, MON_OPEN + 17, ist("2024-02-05 15:29")):
        assert tt.at(tt.elapsed(ts)) == ts


def test_trading_time_from_mid_session_and_across_years(calendar: NseCalendar) -> None:
    origin = ist("2024-12-31 15:00")
    tt = TradingTime(calendar, origin)
    assert tt.at(1800) == ist("2024-12-31 15:30")
    assert tt.at(1860) == ist("2025-01-01 09:16")
    assert tt.elapsed(ist("2025-01-01 09:16")) == 1860


def test_simulated_clock_runs_sixty_times_faster_and_jumps_the_holiday_weekend(calendar: NseCalendar) -> None:
    wall = FakeMonotonic()
    clock = SimulatedClock(THU_CLOSE - 60, speed=60, calendar=calendar, monotonic=wall)
    assert clock.now() == THU_CLOSE - 60
    wall.t += 0.5
    assert clock.now() == THU_CLOSE - 30
    wall.t += 0.5
    assert clock.now() == THU_CLOSE
    wall.t += 1.0
    assert clock.now() == MON_OPEN + 60  # one wall second later: Monday 09:16


def test_simulated_clock_default_start_is_the_latest_session_open(calendar: NseCalendar) -> None:
    clock = SimulatedClock(calendar=calendar, epoch_time=lambda: ist("2024-01-27 20:00"), monotonic=FakeMonotonic())
    assert clock.start == THU_OPEN and clock.now() == THU_OPEN


async def test_simulated_clock_sleep_returns_when_the_wall_has_passed_the_target(calendar: NseCalendar) -> None:
    wall = FakeMonotonic()
    clock = SimulatedClock(THU_OPEN, speed=60, calendar=calendar, monotonic=wall)
    wall.t += 2.0  # two wall seconds: 09:17
    await asyncio.wait_for(clock.sleep_until(THU_OPEN + 120), 1)
    await asyncio.wait_for(clock.sleep_until(THU_OPEN + 60), 1)


async def test_infinite_speed_jumps_to_each_moment_waited_for(calendar: NseCalendar) -> None:
    clock = SimulatedClock(THU_OPEN, speed=math.inf, calendar=calendar)
    await clock.sleep_until(MON_OPEN + 60)
    assert clock.now() == MON_OPEN + 60
    await clock.sleep_until(THU_OPEN)  # never backwards
    assert clock.now() == MON_OPEN + 60


def test_speed_must_be_positive(calendar: NseCalendar) -> None:
    with pytest.raises(ValueError, match="speed"):
        SimulatedClock(THU_OPEN, speed=0, calendar=calendar)


async def test_manual_clock_wakes_sleepers_in_time_order() -> None:
    clock = ManualClock(100.0)
    woke: list[float] = []

    async def sleeper(ts: float) -> None:
        await clock.sleep_until(ts)
        woke.append(clock.now())

    tasks = [asyncio.create_task(sleeper(ts)) for ts in (300.0, 200.0)]
    assert await clock.step() == 200.0
    await tasks[1]
    assert woke == [200.0]
    assert await clock.step() == 300.0
    await tasks[0]
    assert woke == [200.0, 300.0]
    await clock.sleep_until(250.0)  # in the past: returns at once
    clock.advance_to(50.0)
    assert clock.now() == 300.0
