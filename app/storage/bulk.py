"""executemany for hot paths: plain tuples straight to the SQLite driver, Core elsewhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncSession


async def execute_many(session: AsyncSession, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run `statement` once per row inside the session's transaction.

    On SQLite the statement is compiled once and the rows go to the driver as tuples:
    SQLAlchemy's per-row parameter processing costs about a microsecond per value, on the
    event loop, which is most of a 1,000-row write. Other dialects take the Core path.
    """
    if not rows:
        return
    conn = await session.connection()
    if conn.dialect.name != "sqlite":
        await conn.execute(statement, list(rows))
        return
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(rows[0]))  # type: ignore[attr-defined]
    names = list(compiled.positiontup or [])
    missing = [n for n in names if n not in rows[0]]  # literal values of the statement itself
    literals = {n: compiled.params[n] for n in missing}
    take = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    params = [take(row) for row in ((row | literals for row in rows) if literals else rows)]
    raw = await conn.get_raw_connection()
    await raw.driver_connection.executemany(compiled.string, params)
