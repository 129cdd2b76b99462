"""Calling Upstox again after a 429 or a transient failure (network, 5xx).

A 429 waits Upstox's Retry-After when it gave one, else the doubling delay; a transient failure
waits the doubling delay (`delay`, `2 * delay`, ...). A 401 and every other 4xx are final: the
same request would get the same answer. After `attempts` tries the last error is raised.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.market.upstox.errors import RateLimited, TokenRejected, UpstoxError

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


def transient(error: UpstoxError) -> bool:
    """Worth trying again: rate-limited, no answer at all, or a server error."""
    return isinstance(error, RateLimited) or error.status == 0 or error.status >= 500


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    delay: float,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """`await call()`, tried up to `attempts` times while it fails transiently."""
    for attempt in range(attempts):
        try:
            return await call()
        except TokenRejected:
            raise
        except UpstoxError as e:
            if not transient(e) or attempt + 1 >= attempts:
                raise
            wait = delay * 2**attempt
            if isinstance(e, RateLimited) and e.retry_after is not None:
                wait = e.retry_after
            log.info("upstox: %s; trying again in %.2f s", e, wait)
            await sleep(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")


def reconnect_delay(attempt: int, *, first: float, most: float) -> float:
    """The wait before reconnect attempt `attempt` (0, 1, ...): doubling from `first` up to
    `most`, times a random 0.5-1 (jitter, so clients that dropped together do not return together)."""
    return min(most, first * 2**attempt) * random.uniform(0.5, 1.0)
