"""INSERT ... ON CONFLICT DO UPDATE for the dialects we run on (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from app.storage.bulk import execute_many

INSERTS: dict[str, Callable[[Table], sqlite.Insert | postgresql.Insert]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def upsert_statement(table: Table, keys: Sequence[str], dialect: str, *, only_changed: bool = False) -> Insert:
    """Insert, or replace every non-key column of the row with the same `keys`.

    :param only_changed: leave a stored row whose values are all the same alone (not written,
        not counted in a row count).
    """
    insert = INSERTS.get(dialect)
    if insert is None:
        raise NotImplementedError(f"upserts support {' and '.join(INSERTS)}, not {dialect}")
    stmt = insert(table)
    values = [c.name for c in table.columns if c.name not in keys]
    updates = {name: stmt.excluded[name] for name in values}
    where = or_(*(table.c[name].is_distinct_from(stmt.excluded[name]) for name in values)) if only_changed else None
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=updates, where=where)


async def upsert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert `rows`, replacing the non-key columns of rows whose `keys` already exist."""
    if rows:
        dialect = session.get_bind().dialect.name
        await execute_many(session, upsert_statement(table, keys, dialect), rows)
