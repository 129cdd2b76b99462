from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.storage.db import Database
from app.storage.migrate import upgrade_async
from tests.market.upstox.fixtures import fake, token_file  # noqa: F401  (fixtures for every package)
from tests.support import services
from tests.support.server import ServerProcess
from tests.support.services import postgres_database

RELATIONAL = ["sqlite", "postgresql"]


@pytest.fixture(params=RELATIONAL)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The relational store's URL, once per kind: an SQLite file, and a fresh PostgreSQL database
    (dropped after the test). Not migrated: `database` is, or the test migrates it itself."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'signaldesk.sqlite3'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def database_env(database_url: str) -> dict[str, str]:
    """A server's environment for the relational store at `database_url` (ask for it before
    `server_factory`, so that the servers stop before a PostgreSQL database is dropped)."""
    return {"SIGNALDESK_DATABASE_URL": database_url}


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The relational store at `database_url`, migrated to heads: every store test runs on both kinds."""
    await upgrade_async(database_url)
    db = Database(database_url)
    yield db
    await db.close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix of this test's own (the real Redis is required); cleaned up after."""
    with services.redis_prefix() as prefix:
        yield prefix


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[type[ServerProcess]]:
    """Make servers with `server_factory(data_dir, env)`; all are stopped after the test."""
    made: list[ServerProcess] = []

    def make(data_dir: Path | None = None, env: dict[str, str] | None = None) -> ServerProcess:
        server = ServerProcess(data_dir or tmp_path / "data", env)
        made.append(server)
        return server

    yield make  # type: ignore[misc]
    for server in made:
        server.stop()


@pytest.fixture
def server(server_factory) -> ServerProcess:  # type: ignore[no-untyped-def]
    s = server_factory()
    s.start()
    return s


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """Say plainly which services were missing and which tests that skipped (from the skip
    reports, so it works with the tests spread over xdist workers)."""
    from tests.support.services import SKIP_NOTE

    missing: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if SKIP_NOTE in reason:
            message = reason.removeprefix("Skipped: ").split(SKIP_NOTE)[0].rstrip("; ")
            missing[message] = missing.get(message, 0) + 1
    if missing:
        terminalreporter.section("services not reachable: their tests were skipped")
        for message, count in missing.items():
            terminalreporter.write_line(f"{message}: {count} tests skipped")
