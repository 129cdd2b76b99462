"""The journal: one transaction per flush, inline when it can, in order when it cannot."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from app.storage.migrate import upgrade_async
from app.trading.errors import JournalError
from app.trading.journal import SqliteJournal


def position(qty: int) -> dict[str, object]:
    return {"instrument_key": "NSE_EQ|X", "qty": qty, "avg_price": 10.0}


async def db(tmp_path: Path) -> Path:
    path = tmp_path / "db.sqlite3"
    await upgrade_async(f"sqlite+aiosqlite:///{path}")
    return path


async def test_flushes_commit_in_order_even_when_another_writer_holds_the_lock(tmp_path: Path) -> None:
    path = await db(tmp_path)
    journal = SqliteJournal(path)
    journal.stage("hft_paper_positions", position(1))
    await journal.flush()  # inline: nobody else writes
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # e.g. the predictor's session, mid-transaction
    journal.stage("hft_paper_positions", position(2))
    first = asyncio.create_task(journal.flush())  # cannot go inline: waits on the thread
    await asyncio.sleep(0.05)
    assert not first.done()
    journal.stage("hft_paper_positions", position(3))
    second = asyncio.create_task(journal.flush())  # must not overtake the first
    await asyncio.sleep(0.05)
    other.execute("COMMIT")
    await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert other.execute("SELECT qty FROM hft_paper_positions").fetchall() == [(3,)]
    other.close()
    await journal.close()


async def test_a_bad_row_rolls_the_whole_flush_back(tmp_path: Path) -> None:
    path = await db(tmp_path)
    journal = SqliteJournal(path)
    journal.stage("hft_paper_positions", position(5))
    journal.stage("hft_paper_positions", {"instrument_key": "NSE_EQ|Y", "qty": None, "avg_price": 1.0})  # NOT NULL
    with pytest.raises(JournalError, match="could not commit 2 rows"):
        await journal.flush()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM hft_paper_positions").fetchone() == (0,)
    conn.close()
    with pytest.raises(KeyError):
        journal.stage("hft_paper_positions", {"instrument_key": "K", "nope": 1})
    await journal.close()
