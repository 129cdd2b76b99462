from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from app.api.ws_channel_models import ContractValidator
from app.bus.base import Retention
from app.bus.local import LocalEventBus
from app.bus.sqlite_log import SqliteEventLog
from tests.bus.recorder import Recorder

BusFactory = Callable[..., LocalEventBus]


@pytest.fixture
async def open_bus(tmp_path: Path) -> AsyncIterator[BusFactory]:
    """Start buses on a real SQLite log under tmp_path; all are closed after the test."""
    buses: list[LocalEventBus] = []

    async def make(path: Path | None = None, **kw: object) -> LocalEventBus:
        kw.setdefault("retention", Retention(interval=3600))
        bus = LocalEventBus(SqliteEventLog(path or tmp_path / "events.sqlite3", synchronous="normal"), ContractValidator(), **kw)  # type: ignore[arg-type]
        await bus.start()
        buses.append(bus)
        return bus

    yield make  # type: ignore[misc]
    for bus in buses:
        await bus.close()


@pytest.fixture
def recorder() -> type[Recorder]:
    return Recorder
