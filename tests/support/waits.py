"""Waiting on a condition of in-process state that has no event to wait on: looked at again every
few milliseconds, bounded by a timeout (never a bare sleep that hopes the work is done)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def polled(condition: Callable[[], bool], timeout: float = 10.0, every: float = 0.005) -> None:
    """Return once `condition()` holds; TimeoutError after `timeout` seconds."""

    async def done() -> None:
        while not condition():
            await asyncio.sleep(every)

    await asyncio.wait_for(done(), timeout)
