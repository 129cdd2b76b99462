"""Stored candles: upsert a checked frame, read a range as a frame, list what is stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Insert

from app.market.candle_checks import COLUMNS, check_candles, empty_candles
from app.market.instruments import parse_instrument_key
from app.market.intervals import Interval, parse_interval
from app.market.tables import Candle
from app.storage.db import Database

CHUNK = 10_000
TABLE = Candle.__table__
VALUES = COLUMNS[1:]
NAMES = ("instrument_key", "interval", *COLUMNS)
SQLITE_UPSERT = (
    f"INSERT INTO candles ({', '.join(NAMES)}) VALUES ({', '.join('?' * len(NAMES))})"
    " ON CONFLICT (instrument_key, interval, ts) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in VALUES)
    + " WHERE "
    + " OR ".join(f"{c} IS NOT excluded.{c}" for c in VALUES)  # unchanged rows are not written
)
SQLITE_READ = (
    "SELECT ts, open, high, low, close, volume, oi FROM candles"
    " WHERE instrument_key = ? AND interval = ? AND ts >= ? AND ts <= ? ORDER BY ts"
)


class CandleSeries(NamedTuple):
    """What is stored of one instrument at one interval."""

    instrument_key: str
    interval: str
    first_ts: int
    last_ts: int
    count: int


class CandleStore:
    """Candles in the relational store, one row per (instrument_key, interval, bar open ts)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # SQLite takes plain SQL on the driver's own thread: SQLAlchemy's per-row parameter and
        # Row handling costs seconds per 500,000 candles, on the event loop. Others go through Core.
        self.fast = db.engine.dialect.name == "sqlite"

    async def upsert(
        self,
        instrument_key: str,
        interval: str | Interval,
        frame: pd.DataFrame,
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Insert the frame's candles or replace the stored ones with the same ts, in one transaction.

        The frame (ts as epoch seconds, open, high, low, close, volume[, oi]) is checked like a file
        (CandleImportError when bad). Returns the rows written: new or changed; a candle stored
        with identical values is left alone, so re-importing a file writes 0 rows.
        :param on_progress: called with the number of rows done after each chunk.
        """
        key = parse_instrument_key(instrument_key)
        iv = parse_interval(interval) if isinstance(interval, str) else interval
        lines = np.arange(1, len(frame) + 1, dtype=np.int64)
        clean = await asyncio.to_thread(check_candles, frame, lines, iv, f"candles of {key} {iv.name}")
        rows = await asyncio.to_thread(_rows, key, iv.name, clean)
        written = 0
        async with self.db.engine.begin() as conn:
            statement = None if self.fast else _upsert_statement(conn)
            for at in range(0, len(rows), CHUNK):
                chunk = rows[at : at + CHUNK]
                if statement is None:
                    raw = await conn.get_raw_connection()
                    cursor = await raw.driver_connection.executemany(SQLITE_UPSERT, chunk)
                    written += cursor.rowcount
                else:
                    result = await conn.execute(statement, [dict(zip(NAMES, row)) for row in chunk])
                    written += max(result.rowcount, 0)
                if on_progress is not None:
                    on_progress(at + len(chunk))
        return written

    async def read(
        self, instrument_key: str, interval: str | Interval, start: int | None = None, end: int | None = None
    ) -> pd.DataFrame:
        """Candles with start <= ts <= end (either bound optional), ascending: ts int64, values float64
        (oi NaN where none was stored)."""
        name = _name(interval)
        lo = -(2**62) if start is None else start
        hi = 2**62 if end is None else end
        async with self.db.engine.connect() as conn:
            if self.fast:
                raw = await conn.get_raw_connection()
                rows = await raw.driver_connection.execute_fetchall(SQLITE_READ, (instrument_key, name, lo, hi))
            else:
                c = TABLE.c
                query = (
                    select(c.ts, *(c[v] for v in VALUES))
                    .where(c.instrument_key == instrument_key, c.interval == name, c.ts >= lo, c.ts <= hi)
                    .order_by(c.ts)
                )
                rows = [tuple(row) for row in (await conn.execute(query)).all()]
        return await asyncio.to_thread(_frame, rows)

    async def has(self, instrument_key: str, interval: str | Interval) -> bool:
        """Whether any candle of this instrument and interval is stored."""
        c = TABLE.c
        query = select(c.ts).where(c.instrument_key == instrument_key, c.interval == _name(interval)).limit(1)
        async with self.db.engine.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def instruments(self) -> list[CandleSeries]:
        """Every stored (instrument_key, interval) with its first and last ts and its count."""
        c = TABLE.c
        query = (
            select(c.instrument_key, c.interval, func.min(c.ts), func.max(c.ts), func.count())
            .group_by(c.instrument_key, c.interval)
            .order_by(c.instrument_key, c.interval)
        )
        async with self.db.engine.connect() as conn:
            result = await conn.execute(query)
            return [CandleSeries(k, i, int(lo), int(hi), int(n)) for k, i, lo, hi, n in result.all()]


def _name(interval: str | Interval) -> str:
    return (parse_interval(interval) if isinstance(interval, str) else interval).name


def _upsert_statement(conn: AsyncConnection) -> Insert:
    """The portable upsert (Core), for databases other than SQLite."""
    dialect = conn.dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert is None:
        raise NotImplementedError(f"candle upserts support sqlite and postgresql, not {dialect}")
    statement = insert(TABLE)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[TABLE.c.instrument_key, TABLE.c.interval, TABLE.c.ts],
        set_={c: new[c] for c in VALUES},
        where=or_(*(TABLE.c[c].is_distinct_from(new[c]) for c in VALUES)),
    )


def _rows(key: str, interval: str, frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """Parameter tuples in NAMES order; NaN oi becomes NULL."""
    oi = [None if v != v else v for v in frame["oi"].tolist()]
    values = [frame[c].tolist() for c in COLUMNS[:-1]]
    return list(zip([key] * len(frame), [interval] * len(frame), *values, oi))


def _frame(rows: Sequence[Sequence[object]]) -> pd.DataFrame:
    if not rows:
        return empty_candles()
    table = np.array(rows, dtype=np.float64)  # NULL oi -> nan
    out = {"ts": table[:, 0].astype(np.int64)}
    out.update({c: np.ascontiguousarray(table[:, i + 1]) for i, c in enumerate(VALUES)})
    return pd.DataFrame(out)
