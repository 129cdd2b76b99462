"""Schema migrations with Alembic, run programmatically (`signaldesk db upgrade`, and at start-up).

One connection does the whole upgrade and is handed to Alembic's env.py (Alembic's connection
sharing). On PostgreSQL that connection first takes a session-level advisory lock, so several
processes starting together against one database upgrade one after another: the first applies
the migrations, the others wait, then find the schema current and do nothing. SQLite needs no
lock of its own (one server per data directory).

Every failure comes out as `DatabaseError`, one line that names the database (no password) and
SIGNALDESK_DATABASE_URL, never a traceback for a CLI or a server to print.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from app.storage.db import make_engine
from app.storage.urls import shown

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# The advisory lock every signaldesk process takes around an upgrade: one 64-bit key of our own.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"signaldesk.schema-migrations").digest()[:8], "big", signed=True)
# Alembic keeps the running migration's context in module globals: one upgrade per process at a time.
_one_at_a_time = threading.Lock()
# Its INFO lines ("Context impl PostgresqlImpl.", one per migration) say little: we log one line instead.
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


class DatabaseError(RuntimeError):
    """The database cannot be opened, or its schema cannot be brought (or is not) current. One line."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolation
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the database at `url` to `revision`. Blocks; runs its own event loop.

    "heads": each domain may branch its migrations off the common base (revision ids like
    `0003_jobs`, `0003_trading`), so every head is applied.
    """
    with _one_at_a_time:
        asyncio.run(_with_connection(url, lambda conn: _upgrade(conn, url, revision)))


async def upgrade_async(url: str) -> None:
    """`upgrade` from inside a running event loop (on a thread: Alembic's work is synchronous)."""
    await asyncio.to_thread(upgrade, url)


def check_current(url: str) -> None:
    """DatabaseError unless the database at `url` has every migration applied (for a server that
    does not upgrade by itself: SIGNALDESK_DB_AUTO_UPGRADE=false)."""
    asyncio.run(_with_connection(url, lambda conn: conn.run_sync(_check_current, url)))


def prepare(url: str, *, auto_upgrade: bool) -> None:
    """What a server does at start-up: upgrade, or only check when upgrading is left to others."""
    if auto_upgrade:
        upgrade(url)
    else:
        check_current(url)


async def prepare_async(url: str, *, auto_upgrade: bool) -> None:
    await asyncio.to_thread(prepare, url, auto_upgrade=auto_upgrade)


async def _with_connection(url: str, work: Callable[[AsyncConnection], Awaitable[object]]) -> None:
    """Run `work(connection)` on one fresh connection to `url`; every failure as a DatabaseError."""
    where = f"{shown(url)} (SIGNALDESK_DATABASE_URL)"
    try:
        engine = make_engine(url, poolclass=NullPool)  # the connection closes with the work: no lock outlives it
    except (ArgumentError, ImportError, SQLAlchemyError) as e:
        raise DatabaseError(f"cannot use the database {where}: {_reason(e)}") from e
    try:
        try:
            conn = await engine.connect()
        except (OSError, asyncio.TimeoutError, SQLAlchemyError) as e:
            raise DatabaseError(f"cannot open the database {where}: {_reason(e)}") from e
        try:
            await work(conn)
        except DatabaseError:
            raise
        except (OSError, asyncio.TimeoutError, SQLAlchemyError, CommandError) as e:
            raise DatabaseError(f"the schema of the database {where} could not be upgraded: {_reason(e)}") from e
        finally:
            await conn.close()
    finally:
        await engine.dispose()


async def _upgrade(conn: AsyncConnection, url: str, revision: str) -> None:
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        if not (await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})).scalar_one():
            log.info("another process is upgrading the schema of %s; waiting for it", shown(url))
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        await conn.commit()  # a session-level lock: it outlives this transaction, Alembic runs its own
    await conn.run_sync(_alembic_upgrade, url, revision)
    if postgres:
        await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        await conn.commit()


def _alembic_upgrade(conn: Connection, url: str, revision: str) -> None:
    before = _revisions(conn)
    config = alembic_config(url)
    config.attributes["connection"] = conn  # env.py migrates on this connection
    command.upgrade(config, revision)
    after = _revisions(conn)
    if after == before:
        log.info("database schema current at %s: %s", after, shown(url))
    else:
        log.info("database schema upgraded from %s to %s: %s", before or "nothing", after, shown(url))


def _revisions(conn: Connection) -> str:
    """The applied revisions, read in a transaction of its own (so that Alembic runs its own)."""
    try:
        return ", ".join(sorted(MigrationContext.configure(conn).get_current_heads()))
    finally:
        conn.commit()


def _check_current(conn: Connection, url: str) -> None:
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    current = set(MigrationContext.configure(conn).get_current_heads())
    if current != heads:
        missing = ", ".join(sorted(heads - current)) or "none"
        raise DatabaseError(
            f"the schema of the database {shown(url)} (SIGNALDESK_DATABASE_URL) is not current "
            f"(at {', '.join(sorted(current)) or 'nothing'}; missing {missing}): run `signaldesk db upgrade`, "
            "or start with SIGNALDESK_DB_AUTO_UPGRADE=true"
        )


def _reason(e: BaseException) -> str:
    """The root cause of a database failure, on one line (not SQLAlchemy's wrapper text)."""
    cause: BaseException = e
    if isinstance(e, DBAPIError) and e.orig is not None:
        cause = e.orig
        while cause.__cause__ is not None and type(cause).__module__.startswith("sqlalchemy"):
            cause = cause.__cause__  # the driver's own exception behind SQLAlchemy's adapter
    message = " ".join(str(cause).split()) or type(cause).__name__
    if isinstance(cause, asyncio.TimeoutError):
        message = "timed out"
    name = type(cause).__name__
    return message if name in message else f"{name}: {message}"
