"""Rows given as tuples (app.storage.bulk.insert_values) land in their columns, on SQLite and
PostgreSQL, in the table's column order (passed to the driver as they are) or in any other, and
beside values the statement sets itself."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.predictor.events import CREATED_COLUMNS
from app.predictor.store import INSERT, PREDICTIONS
from app.storage.bulk import insert_values
from app.storage.db import Database

ROW = {
    "id": 7,
    "instrument_key": "NSE_EQ|INE002A01018",
    "interval": "1m",
    "horizon_steps": 5,
    "model_kind": "ridge",
    "ts_pred": 1_764_043_500,
    "ts_target": 1_764_043_800,
    "close_pred": 2900.5,
    "pred_ret": 0.001,
    "pred_ret_adj": 0.0008,
    "calib_bias": 0.0002,
    "status": "open",
}


@pytest.mark.parametrize("columns", [CREATED_COLUMNS, tuple(reversed(CREATED_COLUMNS))], ids=["table", "reversed"])
async def test_tuples_land_in_their_columns(database: Database, columns: tuple[str, ...]) -> None:
    assert CREATED_COLUMNS == tuple(c.name for c in PREDICTIONS.columns if c.name in ROW)  # the table's order
    rows = [tuple({**ROW, "id": i}[c] for c in columns) for i in range(1, 1_201)]  # more than one statement
    async with database.begin() as conn:
        await insert_values(conn, INSERT, columns, rows)
    async with database.begin() as conn:
        stored = [dict(r._mapping) for r in await conn.execute(select(PREDICTIONS).order_by(PREDICTIONS.c.id))]
    assert [r["id"] for r in stored] == list(range(1, 1_201))
    assert all({k: v for k, v in r.items() if k in ROW} == {**ROW, "id": r["id"]} for r in stored)
    assert all(r["actual_ret"] is None and r["error"] is None for r in stored)


async def test_a_statement_with_values_of_its_own_takes_the_rest_from_the_rows(database: Database) -> None:
    columns = tuple(c for c in CREATED_COLUMNS if c != "status")
    async with database.begin() as conn:
        await insert_values(conn, INSERT.values(status="expired"), columns, [tuple(ROW[c] for c in columns)])
    async with database.begin() as conn:
        (stored,) = [dict(r._mapping) for r in await conn.execute(select(PREDICTIONS))]
    assert {k: v for k, v in stored.items() if k in ROW} == {**ROW, "status": "expired"}
