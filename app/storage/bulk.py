"""executemany and bulk reads for hot paths: plain tuples straight to the SQLite driver, Core elsewhere.

On SQLite a statement is compiled once and its rows go to the driver (aiosqlite, on its own
thread) as tuples: SQLAlchemy's per-row parameter and Row processing costs about a microsecond
per value, on the event loop, which is most of a 1,000-row write or a 500,000-candle read.
PostgreSQL (asyncpg) takes the Core path, where SQLAlchemy batches an INSERT's rows into
multi-row statements ("insertmanyvalues") and asyncpg binds them in its binary protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Executable, Integer, Select, literal_column
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.dml import Insert

Target = AsyncSession | AsyncConnection


async def _connection(target: Target) -> AsyncConnection:
    return await target.connection() if isinstance(target, AsyncSession) else target


async def _driver(conn: AsyncConnection) -> Any:
    """The driver's own connection under `conn` (aiosqlite's, on SQLite)."""
    driver = (await conn.get_raw_connection()).driver_connection
    if driver is None:
        raise RuntimeError("the pooled connection was invalidated: it has no driver connection")
    return driver


async def execute_many(
    target: Target, statement: Executable, rows: Sequence[Mapping[str, Any]], *, count: bool = False
) -> int:
    """Run `statement` once per row inside the session's (or connection's) transaction.

    Returns the rows the statement wrote when the driver says (SQLite, and with `count`
    everywhere: an upsert that skips unchanged rows counts only the rows it wrote), else -1.
    :param count: the count is needed: on drivers that cannot count an executemany (asyncpg), an
        INSERT gets a RETURNING whose rows are counted.
    """
    if not rows:
        return 0
    conn = await _connection(target)
    if conn.dialect.name != "sqlite":
        if count and isinstance(statement, Insert) and not conn.dialect.supports_sane_multi_rowcount:
            returned = await conn.execute(statement.returning(literal_column("1", Integer)), list(rows))
            return len(returned.all())
        result = await conn.execute(statement, list(rows))
        return result.rowcount if conn.dialect.supports_sane_multi_rowcount else -1
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(rows[0]))  # type: ignore[attr-defined]
    names = list(compiled.positiontup or [])
    missing = [n for n in names if n not in rows[0]]  # literal values of the statement itself
    literals = {n: compiled.params[n] for n in missing}
    take = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    params = [take(row) for row in (({**row, **literals} for row in rows) if literals else rows)]
    cursor = await (await _driver(conn)).executemany(compiled.string, params)
    return int(cursor.rowcount)


async def fetch_tuples(target: Target, query: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of `query` as plain tuples (SQLite: straight from the driver)."""
    conn = await _connection(target)
    if conn.dialect.name == "sqlite":
        compiled = query.compile(dialect=conn.dialect)
        if not compiled.post_compile_params:  # IN (...) lists are expanded per call: Core does that
            params = tuple(compiled.params[n] for n in compiled.positiontup or [])
            return list(await (await _driver(conn)).execute_fetchall(compiled.string, params))
    return [tuple(row) for row in (await conn.execute(query)).all()]
