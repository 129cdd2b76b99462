"""Alembic environment: async engines (aiosqlite, asyncpg), one metadata for every domain.

Batch mode (copy-and-move ALTER TABLE) only on SQLite, which cannot alter most things in place;
PostgreSQL alters in place, and runs the whole upgrade in one transaction (transactional DDL).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import app.automation.tables  # noqa: E402,F401  (schedules)
import app.jobs.tables  # noqa: E402,F401  (jobs)

# Every domain's tables, so that autogenerate sees one complete metadata.
import app.market.instrument_master.tables  # noqa: E402,F401  (instruments)
import app.market.tables  # noqa: E402,F401  (candles)
import app.predictor.tables  # noqa: E402,F401  (predictions, calibration)
import app.registry.tables  # noqa: E402,F401  (models, promotions)
import app.trading.tables  # noqa: E402,F401  (trades, orders, engine state, paper ledger)
from app.storage.base import Base

metadata = Base.metadata

config = context.config


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)
    await engine.dispose()


# app.storage.migrate hands over the connection it opened (and, on PostgreSQL, locked);
# the `alembic` command line (revision --autogenerate) opens one here.
shared = config.attributes.get("connection")
if shared is not None:
    run_migrations(shared)
else:
    asyncio.run(run_online())
