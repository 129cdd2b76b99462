"""The fake Upstox on loopback for the trading tests that reach a live broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.market.upstox.fake import FakeUpstox

UPSTOX_TOKEN = "good-token"


@pytest.fixture
async def fake_upstox() -> AsyncIterator[FakeUpstox]:
    """Fills market orders at 2900 (RELIANCE's price in these tests)."""
    server = await FakeUpstox(tokens=[UPSTOX_TOKEN]).start()
    server.desk.price = 2900.0
    yield server
    await server.stop()
