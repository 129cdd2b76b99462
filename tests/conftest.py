from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess


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
    """Say plainly which services were missing and which tests that skipped."""
    from tests.support.services import skipped

    if skipped:
        terminalreporter.section("services not reachable: their tests were skipped")
        for message in skipped.values():
            terminalreporter.write_line(message)
