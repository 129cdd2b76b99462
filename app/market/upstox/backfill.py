"""Missed minutes from the intraday candle API, after a (re)connect.

One request per instrument (a few at a time), each retried on 429 after Upstox's Retry-After
(or a doubling delay) and on transient failures, `attempts` times in all (`retry.py`). A 401 is
not retried here: it ends the backfill as `TokenRejected`, and the source deals with the token. An
instrument whose candles could not be fetched is reported with the reason, so its missing
minutes can be announced as a gap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.market.upstox.errors import TokenRejected, UpstoxError
from app.market.upstox.minutes import Candle
from app.market.upstox.rest import UpstoxRest
from app.market.upstox.retry import with_retries


@dataclass(slots=True)
class Backfill:
    """Candles by minute for the minutes asked for, and the instruments that failed (key -> why)."""

    minutes: dict[int, dict[str, Candle]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


async def fetch_minutes(
    rest: UpstoxRest,
    token: str,
    instruments: Sequence[str],
    opens: Sequence[int],
    *,
    attempts: int = 4,
    delay: float = 0.5,
    concurrency: int = 8,
) -> Backfill:
    wanted = set(opens)
    result = Backfill({m: {} for m in opens})
    gate = asyncio.Semaphore(concurrency)

    async def one(key: str) -> None:
        async with gate:
            try:
                candles = await with_retries(lambda: rest.intraday_candles(token, key), attempts=attempts, delay=delay)
            except TokenRejected:
                raise
            except UpstoxError as e:
                result.failed[key] = str(e)
                return
            for c in candles:
                if c.open_ts in wanted:
                    result.minutes[c.open_ts][key] = c

    await asyncio.gather(*(one(key) for key in instruments))
    return result
