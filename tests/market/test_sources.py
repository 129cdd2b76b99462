"""The settings' market source: which one, and where a simulated market starts."""

from __future__ import annotations

from pathlib import Path

from app.core.config import Settings
from app.market.calendar import NseCalendar
from app.market.clock import SimulatedClock
from app.market.replay import CandleReplay
from app.market.simulated import SimulatedMarket
from app.market.sources import build_source
from app.storage.db import Database
from tests.market.conftest import ist


def start_of(market: object) -> float:
    assert isinstance(market, SimulatedMarket) and isinstance(market.clock, SimulatedClock)
    return market.clock.start


def source(tmp_path: Path, calendar: NseCalendar, **settings: object) -> object:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    return build_source(Settings(data_dir=tmp_path, **settings), db=db, calendar=calendar)  # type: ignore[arg-type]


def test_simulated_start_from_a_date_or_a_time(tmp_path: Path, calendar: NseCalendar) -> None:
    on_a_day = source(tmp_path, calendar, market_start="2024-01-25", market_seed=1)
    assert start_of(on_a_day) == ist("2024-01-25 09:15")
    holiday = source(tmp_path, calendar, market_start="2024-01-26")  # Republic Day: Thursday's session
    assert start_of(holiday) == ist("2024-01-25 09:15")
    exact = source(tmp_path, calendar, market_start="2024-01-25T15:00:00+05:30", market_universe=500)
    assert start_of(exact) == ist("2024-01-25 15:00")
    assert isinstance(exact, SimulatedMarket) and len(exact.instruments) == 500


def test_replay_and_off(tmp_path: Path, calendar: NseCalendar) -> None:
    replay = source(
        tmp_path,
        calendar,
        market_source="replay",
        market_instruments="NSE_EQ|INE002A01018, NSE_EQ|INE467B01029",
        market_interval="5m",
        market_start="2024-01-25",
        market_end="2024-01-25",
        market_speed="inf",
    )
    assert isinstance(replay, CandleReplay)
    assert replay.instruments == ("NSE_EQ|INE002A01018", "NSE_EQ|INE467B01029") and replay.interval.name == "5m"
    assert (replay.start, replay.end) == (ist("2024-01-25 00:00"), ist("2024-01-25 23:59") + 59)
    assert source(tmp_path, calendar, market_source="off") is None
