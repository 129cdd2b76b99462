"""PredictionStore on a real migrated database (SQLite and PostgreSQL, tests/conftest.py):
predictions made, resolved and expired, and the calibration upserted in the same transaction."""

from __future__ import annotations

from typing import Any

import pytest

from app.predictor.calibration import SUMS
from app.predictor.events import CREATED_COLUMNS
from app.predictor.store import PredictionStore
from app.storage.db import Database

RELIANCE, TCS = "NSE_EQ|INE002A01018", "NSE_EQ|INE467B01029"
T0 = 1_764_043_500  # a bar open, UTC epoch seconds


def made(id: int, key: str, *, h: int = 1, ts: int = T0) -> tuple[Any, ...]:
    """A stored prediction's values (CREATED_COLUMNS, in their order)."""
    row = {
        "id": id,
        "instrument_key": key,
        "interval": "1m",
        "horizon_steps": h,
        "ts_pred": ts,
        "ts_target": ts + 60 * h,
        "close_pred": 2900.5,
        "pred_ret": 0.001,
        "pred_ret_adj": 0.0008,
        "calib_bias": 0.0002,
        "model_kind": "ewma",
        "status": "open",
    }
    return tuple(row[column] for column in CREATED_COLUMNS)


def calibration(key: str, n: int, weight: float, *, h: int = 1) -> dict[str, Any]:
    sums = dict(zip(SUMS, (weight, 0.0001 * weight, 0.002 * weight, 0.00001 * weight, 0.5 * weight), strict=True))
    return {
        "instrument_key": key,
        "interval": "1m",
        "horizon_steps": h,
        "model_kind": "ewma",
        "n": n,
        **sums,
        "updated_ts": T0 + 60 * n,
    }


@pytest.fixture
def store(database: Database) -> PredictionStore:
    return PredictionStore(database)


async def test_made_resolved_expired_and_calibrated(store: PredictionStore) -> None:
    assert await store.next_id() == 1
    await store.insert([made(1, RELIANCE), made(2, TCS), made(3, RELIANCE, h=5), made(4, TCS, ts=T0 + 60)])
    assert await store.next_id() == 5
    assert [p["id"] for p in await store.open_predictions()] == [1, 2, 3, 4]

    await store.finish([{"b_id": 1, "b_actual_ret": 0.002, "b_error": 0.0012}], [2], [calibration(RELIANCE, 1, 1.0)])
    by_id = {p["id"]: p for p in await store.find()}
    assert (by_id[1]["status"], by_id[1]["actual_ret"], by_id[1]["error"]) == ("resolved", 0.002, 0.0012)
    assert (by_id[2]["status"], by_id[2]["actual_ret"]) == ("expired", None)
    assert by_id[3] == {
        **dict(zip(CREATED_COLUMNS, made(3, RELIANCE, h=5), strict=True)),
        "actual_ret": None,
        "error": None,
    }
    assert [p["id"] for p in await store.open_predictions()] == [3, 4]

    # The next resolution replaces the calibration state of its key (an upsert), adds another.
    await store.finish(
        [{"b_id": 4, "b_actual_ret": -0.001, "b_error": -0.0018}],
        [],
        [calibration(RELIANCE, 2, 1.9), calibration(TCS, 1, 1.0)],
    )
    states = {s["instrument_key"]: s for s in await store.calibration_states("1m", "ewma")}
    assert (states[RELIANCE]["n"], states[RELIANCE]["weight"], states[TCS]["n"]) == (2, 1.9, 1)
    assert await store.calibration_states("5m", "ewma") == []
    summary = {s["instrument_key"]: s for s in await store.calibration()}
    assert summary[RELIANCE]["n"] == 2 and summary[RELIANCE]["hit_rate"] == pytest.approx(0.5)
    assert summary[RELIANCE]["bias"] == pytest.approx(0.0001)

    await store.expire([3])
    assert await store.open_predictions() == []

    # The live record the evaluation reads: resolved predictions only, in a ts_pred window.
    record = await store.resolved_frame()
    assert sorted(record.itertuples(index=False, name=None)) == [
        ("1m", "ewma", 1, RELIANCE, T0, T0 + 60, 0.0008, 0.002),
        ("1m", "ewma", 1, TCS, T0 + 60, T0 + 120, 0.0008, -0.001),
    ]
    assert list((await store.resolved_frame(start=T0 + 1))["instrument_key"]) == [TCS]
    assert (await store.resolved_frame(end=T0 - 1)).empty
    # ... a group (interval, model, horizon) at a time, as the live record's evaluation reads it
    assert await store.resolved_groups() == [("1m", "ewma", 1)] and await store.resolved_groups(end=T0 - 1) == []
    assert len(await store.resolved_frame(group=("1m", "ewma", 1))) == 2
    assert (await store.resolved_frame(group=("1m", "ewma", 2))).empty


async def test_find_filters_newest_first(store: PredictionStore) -> None:
    await store.insert([made(i, RELIANCE if i % 2 else TCS, ts=T0 + 60 * i) for i in range(1, 11)])
    await store.finish([{"b_id": 1, "b_actual_ret": 0.0, "b_error": 0.0}], [], [])
    assert [p["id"] for p in await store.find(limit=3)] == [10, 9, 8]
    assert [p["id"] for p in await store.find(instrument_key=TCS, start=T0 + 240, end=T0 + 480)] == [8, 6, 4]
    assert [p["id"] for p in await store.find(status="resolved")] == [1]
    assert await store.find(status="expired") == []
