"""CandleStore on a real migrated database (SQLite and PostgreSQL): idempotent upserts, ranges, all-or-nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.market import candles as candles_module
from app.market.candles import CandleSeries, CandleStore
from app.market.errors import CandleImportError, InvalidInstrumentKey
from app.storage.db import Database
from tests.market.candle_files import OPEN_TS

KEY = "NSE_EQ|INE002A01018"


def minute_frame(n: int, *, start: int = OPEN_TS, price: float = 100.0, oi: bool = True) -> pd.DataFrame:
    close = price + np.arange(n, dtype=np.float64)
    frame = pd.DataFrame(
        {
            "ts": start + 60 * np.arange(n, dtype=np.int64),
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.arange(n, dtype=np.float64) * 10,
        }
    )
    if oi:
        frame["oi"] = np.where(np.arange(n) % 2 == 0, 7.0, np.nan)
    return frame


@pytest.fixture
def store(database: Database) -> CandleStore:
    """On SQLite (its driver-level path) and on PostgreSQL (Core): see tests/conftest.py."""
    return CandleStore(database)


async def test_upsert_then_read_round_trips_values_and_dtypes(store: CandleStore) -> None:
    frame = minute_frame(50)
    assert await store.upsert(KEY, "1m", frame) == 50
    back = await store.read(KEY, "1minute")
    pd.testing.assert_frame_equal(back, frame[["ts", "open", "high", "low", "close", "volume", "oi"]])
    assert back["ts"].dtype == np.int64 and back["oi"].isna().sum() == 25


async def test_reimport_writes_nothing_and_changes_only_what_changed(store: CandleStore) -> None:
    frame = minute_frame(30)
    assert await store.upsert(KEY, "1m", frame) == 30
    assert await store.upsert(KEY, "1m", frame) == 0
    changed = frame.copy()
    changed.loc[3, "volume"] = 1.0
    changed.loc[5, "oi"] = 9.0  # was NULL
    longer = pd.concat([changed, minute_frame(2, start=OPEN_TS + 60 * 30)], ignore_index=True)
    assert await store.upsert(KEY, "1m", longer) == 4
    back = await store.read(KEY, "1m")
    assert len(back) == 32 and back.loc[3, "volume"] == 1.0 and back.loc[5, "oi"] == 9.0


async def test_read_bounds_are_inclusive_and_series_are_separate(store: CandleStore) -> None:
    await store.upsert(KEY, "1m", minute_frame(10))
    await store.upsert(KEY, "5m", minute_frame(3).assign(ts=OPEN_TS + 300 * np.arange(3)))
    await store.upsert("NSE_EQ|INE848E01016", "1m", minute_frame(4, price=50))
    assert (await store.read(KEY, "1m", OPEN_TS + 60, OPEN_TS + 180))["ts"].tolist() == [
        OPEN_TS + 60 * i for i in (1, 2, 3)
    ]
    assert len(await store.read(KEY, "1m", start=OPEN_TS + 540)) == 1
    assert len(await store.read(KEY, "1m", end=OPEN_TS)) == 1
    assert (await store.read(KEY, "1m", OPEN_TS + 1, OPEN_TS + 59)).empty
    assert len(await store.read(KEY, "5m")) == 3
    assert await store.has(KEY, "1m") and not await store.has(KEY, "1d")
    assert await store.instruments() == [
        CandleSeries(KEY, "1m", OPEN_TS, OPEN_TS + 540, 10),
        CandleSeries(KEY, "5m", OPEN_TS, OPEN_TS + 600, 3),
        CandleSeries("NSE_EQ|INE848E01016", "1m", OPEN_TS, OPEN_TS + 180, 4),
    ]


async def test_empty_read_has_the_stored_dtypes(store: CandleStore) -> None:
    empty = await store.read(KEY, "1m")
    assert empty.empty and list(empty.columns) == ["ts", "open", "high", "low", "close", "volume", "oi"]
    assert empty["ts"].dtype == np.int64 and empty["close"].dtype == np.float64


async def test_bad_frames_and_keys_store_nothing(store: CandleStore) -> None:
    frame = minute_frame(20)
    frame.loc[17, "high"] = 1.0
    with pytest.raises(CandleImportError) as caught:
        await store.upsert(KEY, "1m", frame)
    assert [(p.line, p.column) for p in caught.value.problems] == [(18, "high")]
    with pytest.raises(InvalidInstrumentKey):
        await store.upsert("NSE_EQ", "1m", minute_frame(2))
    assert await store.instruments() == []


async def test_a_failure_midway_rolls_back_every_chunk(store: CandleStore, monkeypatch: pytest.MonkeyPatch) -> None:
    await store.upsert(KEY, "1m", minute_frame(3))
    monkeypatch.setattr(candles_module, "CHUNK", 10)
    done: list[int] = []

    def fail_after_first_chunk(rows: int) -> None:
        done.append(rows)
        if rows >= 20:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        await store.upsert(KEY, "1m", minute_frame(45, price=500), on_progress=fail_after_first_chunk)
    assert done == [10, 20]
    back = await store.read(KEY, "1m")
    assert len(back) == 3 and back["close"].tolist() == [100.0, 101.0, 102.0]


async def test_a_large_series_round_trips(store: CandleStore) -> None:
    frame = minute_frame(60_000, oi=False)
    assert await store.upsert(KEY, "1m", frame) == 60_000
    back = await store.read(KEY, "1m")
    assert len(back) == 60_000 and back["ts"].is_monotonic_increasing and back["oi"].isna().all()
    np.testing.assert_array_equal(back["close"].to_numpy(), frame["close"].to_numpy())
