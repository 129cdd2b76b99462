"""INSERT ... ON CONFLICT DO UPDATE for the dialects we run on (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from app.storage.bulk import execute_many


def upsert_statement(table: Table, keys: Sequence[str], dialect: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)


async def upsert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert `rows`, replacing the non-key columns of rows whose `keys` already exist."""
    if rows:
        dialect = session.bind.dialect.name
        await execute_many(session, upsert_statement(table, keys, dialect), rows)
