"""The journal: one transaction per flush, inline when it can, in order when it cannot.

The journal-level rules run on both journals (`journal`: SQLite's and PostgreSQL's, on the
relational store of tests/conftest.py); the lock and connection behaviour of each on its own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select

from app.storage.db import Database
from app.storage.migrate import upgrade_async
from app.storage.urls import asyncpg_connect_args
from app.trading.errors import JournalError
from app.trading.journal import Journal, PostgresJournal, SqliteJournal, upsert_sql
from app.trading.system import build_journal
from app.trading.tables import JOURNAL_TABLES, PaperPositionRow


def position(qty: int | None, key: str = "NSE_EQ|X") -> dict[str, object]:
    return {"instrument_key": key, "qty": qty, "avg_price": 10.0}


async def db(tmp_path: Path) -> Path:
    path = tmp_path / "db.sqlite3"
    await upgrade_async(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
async def journal(database: Database) -> AsyncIterator[Journal]:
    """The journal a server builds for the database: SqliteJournal or PostgresJournal."""
    made = build_journal(database)
    assert isinstance(made, PostgresJournal if database.engine.dialect.name == "postgresql" else SqliteJournal)
    yield made
    await made.close()


async def positions(database: Database) -> dict[str, int]:
    async with database.session() as s:
        rows = (await s.execute(select(PaperPositionRow.instrument_key, PaperPositionRow.qty))).all()
    return dict(rows)  # type: ignore[arg-type]


async def test_a_bad_row_rolls_the_whole_flush_back(journal: Journal, database: Database) -> None:
    journal.stage("hft_paper_positions", position(1, "NSE_EQ|A"))
    await journal.flush()
    journal.stage("hft_paper_positions", position(5))
    journal.stage(
        "hft_paper_account", {"name": "paper", "capital": 1.0, "realized": 0.0, "charges": 0.0, "next_order": 2}
    )
    journal.stage("hft_paper_positions", position(2, "NSE_EQ|A"))
    journal.stage("hft_paper_positions", position(None, "NSE_EQ|Y"))  # NOT NULL
    with pytest.raises(JournalError, match="could not commit 4 rows") as caught:
        await journal.flush()
    assert "\n" not in str(caught.value)
    assert await positions(database) == {"NSE_EQ|A": 1}  # nothing of the failed flush, not even its first rows
    async with database.session() as s:
        assert (await s.execute(select(JOURNAL_TABLES["hft_paper_account"]))).all() == []
    journal.stage("hft_paper_positions", position(7))  # the journal goes on
    await journal.flush()
    assert await positions(database) == {"NSE_EQ|A": 1, "NSE_EQ|X": 7}
    with pytest.raises(KeyError):
        journal.stage("hft_paper_positions", {"instrument_key": "K", "nope": 1})
    with pytest.raises(KeyError):
        journal.stage("no_such_table", position(1))


def engine(state: str, **more: object) -> dict[str, object]:
    return {
        "id": 1,
        "state": state,
        "broker": "paper",
        "safe_mode": True,
        **more,
        "limits": '{"a": 1}',
        "updated_ts": 5,
    }


async def test_rows_apply_in_the_order_staged_and_partial_rows_update_only_their_columns(
    journal: Journal, database: Database
) -> None:
    table = JOURNAL_TABLES["hft_engine"]
    journal.stage("hft_engine", engine("running", halted_reason="kept"))
    journal.stage("hft_paper_positions", position(1))
    journal.stage("hft_engine", engine("halted"))  # no halted_reason: that column is left as it is
    journal.stage("hft_engine", engine("stopped", halted_reason="last"))  # same columns as the first, staged last
    await journal.flush()
    async with database.session() as s:
        assert (await s.execute(select(table.c.state, table.c.halted_reason, table.c.limits))).one() == (
            "stopped",
            "last",
            {"a": 1},
        )
    journal.stage("hft_engine", engine("running", halted_reason="x"))
    journal.stage("hft_engine", engine("halted"))
    await journal.flush()
    async with database.session() as s:
        assert (await s.execute(select(table.c.state, table.c.halted_reason))).one() == ("halted", "x")
    flushes = []
    for qty in range(10, 20):  # flushes started together commit in the order they were made
        journal.stage("hft_paper_positions", position(qty))
        flushes.append(asyncio.create_task(journal.flush()))
    await asyncio.gather(*flushes)
    assert await positions(database) == {"NSE_EQ|X": 19}


def test_one_upsert_builder_for_both_journals() -> None:
    table = JOURNAL_TABLES["hft_paper_positions"]
    columns = ("instrument_key", "qty")
    assert upsert_sql(table, columns, "sqlite") == (
        'INSERT INTO "hft_paper_positions" ("instrument_key", "qty") VALUES (:instrument_key, :qty)'
        ' ON CONFLICT ("instrument_key") DO UPDATE SET "qty" = excluded."qty"'
    )
    assert upsert_sql(table, columns, "postgresql") == upsert_sql(table, columns, "sqlite").replace(
        "(:instrument_key, :qty)", "($1, $2)"
    )
    assert upsert_sql(table, ("instrument_key",), "postgresql").endswith('ON CONFLICT ("instrument_key") DO NOTHING')


async def test_sqlite_flushes_commit_in_order_even_when_another_writer_holds_the_lock(tmp_path: Path) -> None:
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


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_postgres_flushes_wait_for_a_row_lock_in_order_and_survive_a_lost_connection(
    journal: PostgresJournal, database: Database, database_url: str
) -> None:
    journal.stage("hft_paper_positions", position(1))
    await journal.flush()
    other = await asyncpg.connect(**asyncpg_connect_args(database_url))
    try:
        tx = other.transaction()
        await tx.start()
        await other.execute("UPDATE hft_paper_positions SET qty = 100")  # holds the row's lock
        journal.stage("hft_paper_positions", position(2))
        first = asyncio.create_task(journal.flush())
        await asyncio.sleep(0.05)
        journal.stage("hft_paper_positions", position(3))
        second = asyncio.create_task(journal.flush())
        await asyncio.sleep(0.05)
        assert not first.done() and not second.done()
        await tx.commit()
        await asyncio.wait_for(asyncio.gather(first, second), 5)
        assert await positions(database) == {"NSE_EQ|X": 3}

        # The database drops the journal's connection (a restart, a failover) in the middle of a
        # flush: it fails whole, and the next flush commits on a new connection.
        tx = other.transaction()
        await tx.start()
        await other.execute("SELECT * FROM hft_paper_positions FOR UPDATE")
        journal.stage("hft_paper_positions", position(4))
        journal.stage("hft_paper_positions", position(4, "NSE_EQ|B"))
        lost = asyncio.create_task(journal.flush())
        backend = "FROM pg_stat_activity WHERE application_name = 'signaldesk-journal'"
        while not await other.fetchval(f"SELECT count(*) {backend} AND wait_event_type = 'Lock'"):
            await asyncio.sleep(0.01)  # the journal is inside its transaction, waiting for the row
        assert await other.fetchval(f"SELECT pg_terminate_backend(pid) {backend}")
        with pytest.raises(JournalError, match="could not commit 2 rows"):
            await asyncio.wait_for(lost, 5)
        await tx.commit()
        assert await positions(database) == {"NSE_EQ|X": 3}
        journal.stage("hft_paper_positions", position(5))
        await journal.flush()
        assert await positions(database) == {"NSE_EQ|X": 5}
    finally:
        await other.close()
