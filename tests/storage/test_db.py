"""The database handle on PostgreSQL: its pooled connections survive the server dropping them."""

from __future__ import annotations

import asyncpg
from sqlalchemy import text

from app.storage.db import Database
from tests.support.services import POSTGRES_URL, postgres_database


async def test_a_request_after_postgresql_dropped_every_connection_still_works() -> None:
    """As after a PostgreSQL restart: the pooled connection is dead; the next session reconnects."""
    with postgres_database() as url:
        db = Database(url)
        try:
            async with db.session() as s:
                assert (await s.execute(text("SELECT 1"))).scalar_one() == 1
            name = url.rsplit("/", 1)[1]
            admin = await asyncpg.connect(POSTGRES_URL)
            try:
                dropped = await admin.fetchval(
                    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = $1) t",
                    name,
                )
            finally:
                await admin.close()
            assert dropped >= 1
            async with db.session() as s:
                assert (await s.execute(text("SELECT 2"))).scalar_one() == 2
        finally:
            await db.close()
