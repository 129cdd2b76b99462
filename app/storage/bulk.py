"""executemany and bulk reads for hot paths: plain tuples straight to the SQLite driver, Core elsewhere.

On SQLite a statement is compiled once and its rows go to the driver (aiosqlite, on its own
thread) as tuples: SQLAlchemy's per-row parameter and Row processing costs about a microsecond
per value, on the event loop, which is most of a 1,000-row write or a 500,000-candle read. An
INSERT's rows go in as few statements of many rows as SQLite binds (app.storage.sqlite_rows).
PostgreSQL (asyncpg) takes the Core path, where SQLAlchemy batches an INSERT's rows into
multi-row statements ("insertmanyvalues") and asyncpg binds them in its binary protocol.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Dialect, Executable, Integer, Select, literal_column
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.dml import Insert

from app.storage.sqlite_rows import RowsStatement

Target = AsyncSession | AsyncConnection
T = TypeVar("T")

IN_BATCH = 10_000
"""The most values one `IN (...)` list binds: a statement takes at most 32,767 bound values on
PostgreSQL (asyncpg) and 32,766 in SQLite's default build (Debian's: 250,000), so a longer list
is asked in parts (`in_batches`); a desk's whole record (the performance of every trade, a
year's CSV) is longer than that."""


def in_batches(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """`values` in consecutive parts of at most IN_BATCH, for one `IN (...)` query each."""
    for start in range(0, len(values), IN_BATCH):
        yield values[start : start + IN_BATCH]


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
    compiled = _compiled(statement, tuple(rows[0]), conn.dialect)
    literals = compiled.literals
    params = [compiled.take(row) for row in (({**row, **literals} for row in rows) if literals else rows)]
    return await _write(conn, compiled, params)


async def insert_values(
    target: Target, statement: Insert, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """The INSERT `statement` of `rows`, each the values of `columns` in that order.

    For a writer of many rows a call (the predictor's cycle: 1,000), which then builds no dict
    per row: on SQLite the tuples go to the driver as they are when `columns` is the order the
    statement's placeholders take (the table's), else each is put in that order; elsewhere, or
    when the statement sets values of its own, they become the mappings `execute_many` takes.
    """
    if not rows:
        return
    conn = await _connection(target)
    compiled = _compiled(statement, columns, conn.dialect) if conn.dialect.name == "sqlite" else None
    if compiled is None or compiled.literals:
        await execute_many(conn, statement, [dict(zip(columns, row, strict=True)) for row in rows])
        return
    if compiled.names != columns:
        places = [columns.index(name) for name in compiled.names]
        rows = [tuple(map(row.__getitem__, places)) for row in rows]
    await _write(conn, compiled, rows)


async def _write(conn: AsyncConnection, compiled: Compiled, params: Sequence[Sequence[Any]]) -> int:
    """SQLite: `params` (each row's values in the placeholders' order) through the driver."""
    driver = await _driver(conn)
    if compiled.many is None:
        return int((await driver.executemany(compiled.sql, params)).rowcount)
    written = 0
    for text, values in compiled.many.statements(params):  # an INSERT: its rows in as few statements as may be
        written += (await driver.execute(text, values)).rowcount
    return written


class Compiled(NamedTuple):
    """A statement compiled for SQLite, for rows of known columns."""

    sql: str
    names: tuple[str, ...]  # the placeholders' parameter names, in order
    take: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # a row's values in that order
    literals: dict[str, Any]  # the statement's own values
    many: RowsStatement | None  # an INSERT's many-rows form (app.storage.sqlite_rows)


@functools.lru_cache(maxsize=128)
def _compiled(statement: Executable, columns: tuple[str, ...], dialect: Dialect) -> Compiled:
    """`statement` for rows of `columns`, compiled once (a statement kept as a constant is
    compiled at its first use only: 0.3 ms of a predictor cycle's insert)."""
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))  # type: ignore[attr-defined]
    names = tuple(compiled.positiontup or ())
    literals = {n: compiled.params[n] for n in names if n not in columns}  # values of the statement itself
    take = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    many = RowsStatement.of(compiled.string, len(names)) if isinstance(statement, Insert) else None
    return Compiled(compiled.string, names, take, literals, many)


async def fetch_tuples(target: Target, query: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of `query` as plain tuples (SQLite: straight from the driver)."""
    conn = await _connection(target)
    if conn.dialect.name == "sqlite":
        compiled = query.compile(dialect=conn.dialect)
        if not compiled.post_compile_params:  # IN (...) lists are expanded per call: Core does that
            params = tuple(compiled.params[n] for n in compiled.positiontup or [])
            return list(await (await _driver(conn)).execute_fetchall(compiled.string, params))
    return [tuple(row) for row in (await conn.execute(query)).all()]
