"""Schema migrations on both databases: to heads, matching the models, idempotent, safe to run
from several processes at once on PostgreSQL, and clear one-line errors when they cannot run."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

import app.automation.tables  # noqa: F401  (every domain's tables, as env.py sees them)
import app.jobs.tables  # noqa: F401
import app.market.tables  # noqa: F401
import app.predictor.tables  # noqa: F401
import app.registry.tables  # noqa: F401
import app.trading.tables  # noqa: F401
from app.storage.base import Base
from app.storage.db import make_engine
from app.storage.migrate import DatabaseError, alembic_config, check_current, prepare, upgrade
from tests.support.cli import popen, signaldesk
from tests.support.services import postgres_database

HEADS = set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def inspect(url: str) -> tuple[set[str], list[object], dict[str, int]]:
    """The database's revisions, what differs from the models (types, nullability, defaults,
    indexes...), and each table's identity (PostgreSQL: its OID; SQLite: its rootpage)."""

    def look(conn: Connection) -> tuple[set[str], list[object], dict[str, int]]:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        if conn.dialect.name == "postgresql":
            query = (
                "SELECT relname, oid::bigint FROM pg_class"
                " WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            )
        else:
            query = "SELECT name, rootpage FROM sqlite_master WHERE type = 'table'"
        tables = {name: int(ident) for name, ident in conn.execute(text(query)).all()}
        return set(context.get_current_heads()), compare_metadata(context, Base.metadata), tables

    async def run() -> tuple[set[str], list[object], dict[str, int]]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(look)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_a_fresh_database_upgrades_to_heads_matching_the_models_and_again_is_a_no_op(database_url: str) -> None:
    with pytest.raises(DatabaseError, match="is not current"):
        check_current(database_url)
    upgrade(database_url)
    heads, differences, tables = inspect(database_url)
    assert heads == HEADS and len(HEADS) > 1  # every domain's branch
    assert differences == []  # the migrations make exactly the models' schema, on this database too
    assert {
        "candles",
        "predictions",
        "calibration",
        "jobs",
        "models",
        "promotions",
        "schedules",
        "hft_trades",
        "hft_orders",
        "hft_engine",
        "hft_paper_account",
        "hft_paper_positions",
    } <= set(tables)
    upgrade(database_url)
    assert inspect(database_url) == (heads, [], tables)  # nothing recreated
    check_current(database_url)
    prepare(database_url, auto_upgrade=False)


def test_concurrent_upgrades_of_one_fresh_postgres_database_all_succeed() -> None:
    """Three processes start together on an empty database: the advisory lock lines them up, the
    first migrates, the others find it current (without the lock they collide creating tables)."""
    with postgres_database() as url:
        upgrades = [popen("db", "upgrade", "--database-url", url) for _ in range(3)]
        results = [(p.wait(120), p.stderr.read()) for p in upgrades]  # type: ignore[union-attr]
        for p in upgrades:
            p.stdout.close()  # type: ignore[union-attr]
            p.stderr.close()  # type: ignore[union-attr]
        assert [code for code, _ in results] == [0, 0, 0], results
        assert all("database schema current: postgresql+asyncpg://" in err for _, err in results)
        heads, differences, _ = inspect(url)
        assert heads == HEADS and differences == []


UNREACHABLE = "postgresql+asyncpg://127.0.0.1:1/signaldesk"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db.example/signaldesk", "error: SIGNALDESK_DATABASE_URL: unsupported database mysql://; expected"),
        ("nonsense", "error: SIGNALDESK_DATABASE_URL: not a database URL"),
        (
            UNREACHABLE,
            f"error: cannot open the database {UNREACHABLE} (SIGNALDESK_DATABASE_URL): ConnectionRefusedError",
        ),
        (
            "postgresql://someone:secret@127.0.0.1:1/signaldesk",
            "error: cannot open the database postgresql+asyncpg://someone:***@127.0.0.1:1/signaldesk",
        ),
    ],
)
def test_a_bad_database_url_is_one_line_naming_the_setting(url: str, message: str) -> None:
    runs = [signaldesk("db", "upgrade", env={"SIGNALDESK_DATABASE_URL": url})]
    if url == UNREACHABLE:
        runs += [
            signaldesk("serve", "--port", "0", env={"SIGNALDESK_DATABASE_URL": url}),
            signaldesk("db", "upgrade", "--database-url", url),
        ]
    for result in runs:
        assert result.returncode == 2, (result.args, result.stderr)
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, (result.args, result.stderr)
        assert "Traceback" not in result.stderr and "secret" not in result.stderr


def test_without_auto_upgrade_a_server_refuses_an_old_schema_until_db_upgrade(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with postgres_database() as url:
        env = {"SIGNALDESK_DATABASE_URL": url, "SIGNALDESK_DB_AUTO_UPGRADE": "false"}
        refused = signaldesk("serve", "--port", "0", "--data-dir", tmp_path, env=env)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert "is not current" in refused.stderr and "run `signaldesk db upgrade`" in refused.stderr
        assert inspect(url)[2] == {}  # it created nothing
        assert signaldesk("db", "upgrade", env=env).returncode == 0
        check_current(url)
