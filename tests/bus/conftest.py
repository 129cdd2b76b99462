"""The conformance suite runs every bus test against each backend: SQLite and Redis Streams."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from app.bus.base import BaseEventBus, Retention
from app.bus.local import LocalEventBus
from app.bus.redis_bus import RedisEventBus
from app.bus.sqlite_log import SqliteEventLog
from app.events import ContractValidator
from tests.bus.recorder import Recorder
from tests.support.services import REDIS_URL, delete_keys, require_redis

BusFactory = Callable[..., BaseEventBus]


@pytest.fixture(params=["sqlite", "redis"])
async def open_bus(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BusFactory]:
    """Start buses of one backend; `name` picks the log, so the same name reopens it."""
    backend: str = request.param
    if backend == "redis":
        require_redis()
    prefix = f"test-{secrets.token_hex(6)}"
    buses: list[BaseEventBus] = []

    async def make(name: str = "events", **kw: object) -> BaseEventBus:
        kw.setdefault("retention", Retention(interval=3600))
        validator = ContractValidator()
        if backend == "sqlite":
            bus: BaseEventBus = LocalEventBus(
                SqliteEventLog(tmp_path / f"{name}.sqlite3", synchronous="normal"), validator, **kw
            )  # type: ignore[arg-type]
        else:
            bus = RedisEventBus(REDIS_URL, validator, prefix=f"{prefix}:{name}", block_ms=100, **kw)  # type: ignore[arg-type]
        await bus.start()
        buses.append(bus)
        return bus

    yield make  # type: ignore[misc]
    for bus in buses:
        await bus.close()
    if backend == "redis":
        delete_keys(prefix)


@pytest.fixture
def recorder() -> type[Recorder]:
    return Recorder
