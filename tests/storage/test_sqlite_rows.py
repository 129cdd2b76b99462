"""Inserts of many rows per SQLite statement (app.storage.sqlite_rows): the statement is cut
only where it can be, and batches wider than one statement's binding limit store every row,
counted as the row-per-statement way counts them (an upsert's unchanged rows not at all)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.bus.events import StoredEvent
from app.bus.sqlite_log import SqliteEventLog
from app.market.candles import CandleStore
from app.storage.db import Database
from app.storage.migrate import upgrade_async
from app.storage.sqlite_rows import MAX_VARIABLES, RowsStatement

KEY = "NSE_EQ|INE002A01018"


def test_a_statement_is_cut_around_its_row_of_placeholders_only() -> None:
    upsert = (
        "INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = excluded.b WHERE t.b IS NOT excluded.b"
    )
    cut = RowsStatement.of(upsert, 2)
    assert cut is not None and (cut.head, cut.row, cut.width) == ("INSERT INTO t (a, b) VALUES ", "(?, ?)", 2)
    (two, one) = cut.statements([(1, "x"), (2, "y"), (3, "z")])
    assert two == ("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)" + cut.tail, [1, "x", 2, "y"])
    assert one == ("INSERT INTO t (a, b) VALUES (?, ?)" + cut.tail, [3, "z"])
    assert RowsStatement.of("INSERT INTO t (a, b) VALUES (?, lower(?))", 2) is None  # not a plain row
    assert RowsStatement.of("INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = ?", 3) is None
    assert RowsStatement.of("UPDATE t SET b = ? WHERE a = ?", 2) is None
    wide = RowsStatement("INSERT INTO t VALUES ", "(?, ?, ?)", "", 3)
    rows = [(i, -i, 2 * i) for i in range(1_234)]
    parts = list(wide.statements(rows))  # a few sizes of statement, whatever the batch
    assert [len(values) // 3 for _, values in parts] == [500, 500, 200, 20, 10, 2, 2]
    assert [value for _, values in parts for value in values] == [value for row in rows for value in row]
    assert all(sql.count("?") == len(values) for sql, values in parts)
    widest = RowsStatement("INSERT INTO t VALUES ", f"({', '.join('?' * 1000)})", "", 1000)
    assert [len(values) // 1000 for _, values in widest.statements([(0,) * 1000] * 45)] == [20, 20, 5]


async def test_candles_beyond_one_statement_are_all_stored_and_an_upsert_counts_what_it_changed(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    await upgrade_async(url)
    db = Database(url)
    try:
        n = 25_000  # 9 values a candle: several statements per 10,000-row chunk
        assert n * 9 > 2 * MAX_VARIABLES
        ts = 1_767_240_900 + 60 * np.arange(n)
        close = 1000 + np.arange(n) * 0.05
        frame = pd.DataFrame({"ts": ts, "open": close, "high": close + 1, "low": close - 1, "close": close})
        frame = frame.assign(volume=100.0, oi=np.where(np.arange(n) % 2, 7.0, np.nan))
        store = CandleStore(db)
        assert await store.upsert(KEY, "1m", frame) == n
        stored = await store.read(KEY, "1m")
        pd.testing.assert_frame_equal(stored, frame[stored.columns].reset_index(drop=True), check_dtype=False)
        assert await store.upsert(KEY, "1m", frame) == 0  # unchanged: not written, not counted
        changed = frame.copy()
        changed.loc[changed.index % 250 == 0, "close"] += 0.5
        assert await store.upsert(KEY, "1m", changed) == n // 250
        assert (await store.read(KEY, "1m"))["close"].tolist() == changed["close"].tolist()
    finally:
        await db.close()


@pytest.mark.parametrize("count", [1, 20_000])
def test_the_event_log_stores_a_batch_beyond_one_statement_in_order(tmp_path: Path, count: int) -> None:
    log = SqliteEventLog(tmp_path / "events.sqlite3")
    log.open()
    try:
        events = [
            StoredEvent(i, "prediction", "prediction.created", 1_767_240_900, b"{}%d" % i) for i in range(1, count + 1)
        ]
        log.append(events)
        assert log.last_id == count
        assert log.read_after("prediction", 0, count + 1) == events
    finally:
        log.close()
