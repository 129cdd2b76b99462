"""The fake Upstox as fixtures, and a real server pointed at it: shared by every test package that
reaches Upstox (their conftests import the fixtures)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from tests.market.upstox.fake import FakeUpstox
from tests.support.server import ServerProcess

TOKEN = "good-token"


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstox]:
    server = await FakeUpstox(tokens=[TOKEN]).start()
    yield server
    await server.stop()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "upstox-token"
    path.write_text(f"{TOKEN}\n")
    return path


@contextlib.asynccontextmanager
async def serving_on(
    fake: FakeUpstox, token_file: Path, data_dir: Path, keys: Sequence[str], env: dict[str, str]
) -> AsyncIterator[ServerProcess]:
    """A started `signaldesk serve` whose market is the fake's feed of `keys` and whose Upstox calls
    (orders included) go to the fake, with short timings; `env` adds to (or overrides) that."""
    server = ServerProcess(
        data_dir,
        {
            "SIGNALDESK_MARKET_SOURCE": "upstox",
            "SIGNALDESK_MARKET_INSTRUMENTS": ",".join(keys),
            "SIGNALDESK_UPSTOX_BASE_URL": fake.rest_url,
            "SIGNALDESK_UPSTOX_ORDER_URL": fake.order_url,
            "SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE": str(token_file),
            "SIGNALDESK_UPSTOX_BAR_GRACE": "0.5",
            "SIGNALDESK_UPSTOX_RECONNECT_MIN": "0.05",
            "SIGNALDESK_UPSTOX_RECONNECT_MAX": "0.2",
            **env,
        },
    )
    await asyncio.to_thread(server.start)  # the fake answers on this loop meanwhile
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)
