"""The order rate and the two-key gate on their own."""

from __future__ import annotations

import itertools

import pytest

from app.market.clock import ManualClock
from app.trading.errors import LiveTradingRefused
from app.trading.gate import LiveGate
from app.trading.risk import RateLimiter


class TickingClock:
    """Wall-like: every read is a little later than the one before."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def now(self) -> float:
        return 1000.0 + next(self._ticks) * 1e-6

    async def sleep_until(self, ts: float) -> None:
        raise AssertionError("not expected to wait")


def test_at_most_n_orders_in_any_one_second_window() -> None:
    limiter = RateLimiter(10, TickingClock())
    assert [limiter.try_acquire() for _ in range(11)] == [True] * 10 + [False]
    manual = ManualClock(0.0)
    limiter = RateLimiter(2, manual)
    assert limiter.try_acquire() and limiter.try_acquire() and not limiter.try_acquire()
    manual.advance_to(0.999)
    assert not limiter.try_acquire()
    manual.advance_to(1.0)
    assert limiter.try_acquire()


async def test_exits_wait_for_the_window() -> None:
    manual = ManualClock(0.0)
    limiter = RateLimiter(1, manual)
    await limiter.acquire()
    import asyncio

    waiting = asyncio.create_task(limiter.acquire())
    assert await manual.step() == 1.0
    await asyncio.wait_for(waiting, 5)


@pytest.mark.parametrize("live_enabled", [False, True])
@pytest.mark.parametrize("safe_mode", [False, True])
def test_the_gate_opens_only_with_both_keys(live_enabled: bool, safe_mode: bool) -> None:
    gate = LiveGate(live_enabled)
    both = live_enabled and not safe_mode
    assert gate.routes_live(safe_mode) is both
    assert gate.venue_for(True, safe_mode) is both and gate.venue_for(False, safe_mode) is False
    gate.check_order(False, safe_mode)  # paper is always fine
    if both:
        gate.check_order(True, safe_mode)
    else:
        with pytest.raises(LiveTradingRefused):
            gate.check_order(True, safe_mode)
    if not safe_mode and not live_enabled:
        with pytest.raises(LiveTradingRefused, match="SIGNALDESK_LIVE_TRADING_ENABLED"):
            gate.check_safe_mode(safe_mode)
    else:
        gate.check_safe_mode(safe_mode)
