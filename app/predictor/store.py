"""Predictions and calibration in the database: what the live service writes and the REST reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pandas as pd
from sqlalchemy import Select, Table, bindparam, delete, func, select, update

from app.predictor.calibration import SUMS, summarise
from app.predictor.events import CREATED_COLUMNS
from app.predictor.tables import CalibrationState, Prediction, PredictorRun
from app.storage.bulk import execute_many, fetch_tuples, insert_values
from app.storage.db import Database
from app.storage.upsert import upsert

# The declarative models' __table__ is typed FromClause: these are their Tables.
PREDICTIONS = cast(Table, Prediction.__table__)
RUNS = cast(Table, PredictorRun.__table__)
CALIBRATIONS = cast(Table, CalibrationState.__table__)
Row = dict[str, Any]
PREDICTION_FIELDS = [c.name for c in PREDICTIONS.columns]
CALIBRATION_KEYS = ("instrument_key", "interval", "horizon_steps", "model_kind")
GROUP = ("interval", "model_kind", "horizon_steps")
Group = tuple[str, str, int]
EVALUATED = (
    "interval",
    "model_kind",
    "horizon_steps",
    "instrument_key",
    "ts_pred",
    "ts_target",
    "pred_ret_adj",
    "actual_ret",
)
INSERT = PREDICTIONS.insert()
RESOLVE = (
    PREDICTIONS.update()
    .where(PREDICTIONS.c.id == bindparam("b_id"))
    .values(status="resolved", actual_ret=bindparam("b_actual_ret"), error=bindparam("b_error"))
)


class PredictionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save_run(self, instruments: Sequence[str], cfg: Row, started_ts: int) -> None:
        row = {"id": 1, "instruments": list(instruments), "cfg": cfg, "started_ts": started_ts}
        async with self.db.session() as s:
            await s.execute(delete(PredictorRun))
            await s.execute(RUNS.insert().values(row))

    async def clear_run(self) -> None:
        async with self.db.session() as s:
            await s.execute(delete(PredictorRun))

    async def saved_run(self) -> Row | None:
        """The run the predictor was on when its process stopped, if it was on."""
        async with self.db.session() as s:
            row = (await s.execute(select(RUNS))).first()
            return dict(row._mapping) if row is not None else None

    async def next_id(self) -> int:
        async with self.db.session() as s:
            return int((await s.execute(select(func.coalesce(func.max(Prediction.id), 0)))).scalar_one()) + 1

    async def insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """New predictions, each the values of `CREATED_COLUMNS` (app.predictor.events)."""
        if rows:
            async with self.db.begin() as conn:
                await insert_values(conn, INSERT, CREATED_COLUMNS, rows)

    async def finish(self, resolved: Sequence[Row], expired: Sequence[int], calibration: Sequence[Row]) -> None:
        """Record outcomes (rows of b_id, b_actual_ret, b_error) and the calibration they produced,
        in one transaction."""
        async with self.db.session() as s:
            await execute_many(s, RESOLVE, resolved)
            if expired:
                await s.execute(update(Prediction).where(Prediction.id.in_(expired)).values(status="expired"))
            await upsert(s, CALIBRATIONS, calibration, CALIBRATION_KEYS)

    async def open_predictions(self) -> list[Row]:
        async with self.db.session() as s:
            result = await s.execute(select(PREDICTIONS).where(Prediction.status == "open").order_by(Prediction.id))
            return [dict(r._mapping) for r in result]

    async def expire(self, ids: Sequence[int]) -> None:
        if ids:
            async with self.db.session() as s:
                await s.execute(update(Prediction).where(Prediction.id.in_(list(ids))).values(status="expired"))

    async def calibration_states(self, interval: str, model_kind: str) -> list[Row]:
        async with self.db.session() as s:
            result = await s.execute(
                select(CALIBRATIONS).where(
                    CalibrationState.interval == interval, CalibrationState.model_kind == model_kind
                )
            )
            return [dict(r._mapping) for r in result]

    async def find(
        self,
        *,
        instrument_key: str | None = None,
        status: str | None = None,
        start: int | None = None,
        end: int | None = None,
        limit: int = 500,
    ) -> list[Row]:
        """Newest first; start/end bound ts_pred (inclusive)."""
        query = select(PREDICTIONS).order_by(Prediction.id.desc()).limit(limit)
        if instrument_key is not None:
            query = query.where(Prediction.instrument_key == instrument_key)
        if status is not None:
            query = query.where(Prediction.status == status)
        if start is not None:
            query = query.where(Prediction.ts_pred >= start)
        if end is not None:
            query = query.where(Prediction.ts_pred <= end)
        async with self.db.session() as s:
            return [dict(r._mapping) for r in await s.execute(query)]

    async def resolved_groups(self, *, start: int | None = None, end: int | None = None) -> list[Group]:
        """The (interval, model_kind, horizon_steps) of the resolved predictions with ts_pred in
        [start, end], sorted: each is one panel of the evaluation."""
        query = _resolved(select(*(PREDICTIONS.c[name] for name in GROUP)).distinct(), start, end)
        async with self.db.session() as s:
            return sorted(cast(Group, tuple(row)) for row in await fetch_tuples(s, query))

    async def resolved_frame(
        self, *, start: int | None = None, end: int | None = None, group: Group | None = None
    ) -> pd.DataFrame:
        """Resolved predictions with ts_pred in [start, end] (columns EVALUATED), of one `group`
        or all: the live record app.predictor.evaluation reads (a group at a time, so only one
        panel's rows are held at once: app.predictor.live_record)."""
        query = _resolved(select(*(PREDICTIONS.c[name] for name in EVALUATED)), start, end)
        if group is not None:
            query = query.where(*(PREDICTIONS.c[name] == value for name, value in zip(GROUP, group, strict=True)))
        async with self.db.session() as s:
            rows = await fetch_tuples(s, query)
        return pd.DataFrame(rows, columns=list(EVALUATED))

    async def calibration(self) -> list[Row]:
        """Every calibration state with its summary (n, bias, mae, rmse, hit_rate)."""
        async with self.db.session() as s:
            rows = [dict(r._mapping) for r in await s.execute(select(CALIBRATIONS))]
        return [calibration_summary(r) for r in rows]


def _resolved(query: Select[Any], start: int | None, end: int | None) -> Select[Any]:
    """`query` over the resolved predictions with ts_pred in [start, end] (None: unbounded)."""
    query = query.where(Prediction.status == "resolved")
    if start is not None:
        query = query.where(Prediction.ts_pred >= start)
    if end is not None:
        query = query.where(Prediction.ts_pred <= end)
    return query


def calibration_summary(row: Row) -> Row:
    summary = summarise(row["n"], [row[name] for name in SUMS])
    return {
        **{k: row[k] for k in CALIBRATION_KEYS},
        **{k: float(v) for k, v in summary.items()},
        "n": row["n"],
        "updated_ts": row["updated_ts"],
    }
