"""Database URLs: the two we run on (SQLite through aiosqlite, PostgreSQL through asyncpg)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

FORMS = "sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
# What a plain scheme (or a sync driver's) means here: the async driver we ship.
DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


def normalize_database_url(text: str) -> str:
    """The URL with its async driver made explicit; ValueError (one line, no password) when it cannot work.

    Accepted: `sqlite+aiosqlite:///path` (a file: the trading journal and every process share it) and
    `postgresql+asyncpg://...`; plain `sqlite://` and `postgresql://` (or `postgres://`) mean those drivers.
    """
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {text!r}; expected {FORMS}")
    scheme = scheme.lower()
    scheme = DRIVERS.get(scheme, scheme)
    if scheme not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ValueError(f"unsupported database {scheme}://; expected {FORMS}")
    try:
        url = make_url(f"{scheme}://{rest}")
    except ArgumentError as e:
        raise ValueError(f"not a database URL ({e}); expected {FORMS}") from None
    if url.get_backend_name() == "sqlite" and (not url.database or url.database == ":memory:"):
        raise ValueError(f"an SQLite database must be a file (sqlite+aiosqlite:///PATH), not {shown(url)}")
    if url.get_backend_name() == "postgresql" and not (url.database or url.query.get("dbname")):
        raise ValueError(
            f"name the PostgreSQL database: postgresql+asyncpg://USER@HOST:PORT/DATABASE, not {shown(url)}"
        )
    return url.render_as_string(hide_password=False)


def shown(url: str | URL) -> str:
    """A database URL fit for a message or a log line: no password."""
    try:
        return (make_url(url) if isinstance(url, str) else url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def backend(url: str) -> str:
    """'sqlite' or 'postgresql'."""
    return make_url(url).get_backend_name()


def asyncpg_connect_args(url: str) -> dict[str, Any]:
    """The keyword arguments of `asyncpg.connect` for the database of a postgresql+asyncpg URL,
    exactly as SQLAlchemy's engine connects to it (host, port, user, password, database, and the
    URL's query parameters such as `ssl=require`)."""
    from sqlalchemy.dialects.postgresql.asyncpg import dialect

    _, args = dialect().create_connect_args(make_url(url))
    for engine_only in ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn"):
        args.pop(engine_only, None)
    return dict(args)
