"""The first connection of a day: the minutes since the session open come from the intraday API first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.market.calendar import NseCalendar
from tests.market.conftest import ist
from tests.market.upstox.conftest import A, B, M, make_source, ms
from tests.market.upstox.fake import FakeUpstox, full_frame

OPEN = ist("2024-01-25 09:15")


def minute(ts: int, price: float) -> tuple[int, float, float, float, float, int]:
    return (ts, price, price + 1, price - 1, price + 0.5, 10)


async def test_the_first_connection_hands_on_the_days_earlier_minutes_first(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    earlier = list(range(OPEN, M, 60))  # 09:15 .. 09:59
    fake.candles = {A: [minute(t, 100) for t in earlier], B: [minute(t, 50) for t in earlier[:10]]}
    consumer = consume(make_source(fake, token_file, calendar))
    await fake.wait_for(lambda: len(fake.requests) == 1)
    await fake.send(full_frame(ms(M + 10), {A: [minute(M, 101)], B: [minute(M, 51)]}))
    await fake.send(full_frame(ms(M + 70), {A: [minute(M, 101), minute(M + 60, 102)]}))
    got = [await consumer.next() for _ in range(len(earlier) + 1)]
    assert [b.open_ts for b in got] == [*earlier, M]
    assert [b.close[0] for b in got] == [100.5] * len(earlier) + [101.5]
    assert [b.close[1] for b in got[:10]] == [50.5] * 10 and got[-1].close[1] == 51.5
    assert sorted(fake.candle_requests) == [A, B]
    assert consumer.source.state.gap is None


async def test_a_day_that_cannot_be_filled_is_announced_as_a_gap_and_the_feed_goes_on(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    fake.rate_limit_candles = 1_000
    consumer = consume(make_source(fake, token_file, calendar))
    await fake.wait_for(lambda: len(fake.requests) == 1)
    await fake.send(full_frame(ms(M + 10), {A: [minute(M, 101)], B: [minute(M, 51)]}))
    await fake.send(full_frame(ms(M + 70), {A: [minute(M, 101), minute(M + 60, 102)]}))
    assert (await consumer.next()).open_ts == M
    gap = consumer.source.state.gap
    assert gap is not None and (gap.first_open, gap.last_close, gap.minutes) == (OPEN, M, 45)
