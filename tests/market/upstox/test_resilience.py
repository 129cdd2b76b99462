"""Drops, stalls, expired tokens, failed authorizes and 429s: the source recovers, and no minute is lost silently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.market.calendar import NseCalendar
from app.market.upstox.state import FeedStatus
from tests.market.upstox.conftest import A, B, M, make_source, ms
from tests.market.upstox.fake import FakeUpstox, full_frame, market_info_frame


def minute(open_ts: int, price: float, volume: int = 10) -> tuple[int, float, float, float, float, int]:
    return (open_ts, price, price + 1, price - 1, price + 0.5, volume)


async def test_drop_reconnects_with_the_reread_token_resubscribes_and_backfills(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    consumer = consume(make_source(fake, token_file, calendar))
    await fake.wait_for(lambda: len(fake.requests) == 1)
    await fake.send(full_frame(ms(M + 10), {A: [minute(M, 100)], B: [minute(M, 50)]}))
    await fake.send(full_frame(ms(M + 70), {A: [minute(M, 100), minute(M + 60, 101)], B: [minute(M + 60, 51)]}))
    assert (await consumer.next()).open_ts == M

    # The token is renewed (the old one stops working) and the connection drops; minutes
    # M+1..M+3 pass unseen. Upstox's intraday API has them, behind one 429.
    fake.tokens = {"renewed-token"}
    token_file.write_text("renewed-token\n")
    fake.candles = {A: [minute(M + 60, 101), minute(M + 120, 102), minute(M + 180, 103)], B: [minute(M + 120, 52)]}
    fake.rate_limit_candles = 1
    fake.drop()
    await fake.wait_for(lambda: len(fake.connections) == 2 and len(fake.requests) == 2)
    assert fake.authorize_tokens == ["good-token", "renewed-token"]
    assert fake.requests[1]["method"] == "sub" and fake.requests[1]["data"] == {
        "mode": "full",
        "instrumentKeys": [A, B],
    }
    assert fake.binary == [True, True]

    # Back in minute M+4: the fetched minutes come first, in order, then the live one.
    await fake.send(full_frame(ms(M + 245), {A: [minute(M + 180, 103), minute(M + 240, 104)]}))
    await fake.send(
        full_frame(ms(M + 302), {A: [minute(M + 240, 104), minute(M + 300, 105)], B: [minute(M + 240, 54)]})
    )
    got = [await consumer.next() for _ in range(4)]
    assert [b.open_ts for b in got] == [M + 60, M + 120, M + 180, M + 240]  # no missing minute
    assert [b.close[0] for b in got] == [101.5, 102.5, 103.5, 104.5]
    assert got[1].close[1] == 52.5  # B's fetched minute
    catch_up = sorted(fake.candle_requests[2:])  # the first two filled the day before the first connection
    assert catch_up == [A, A, B] or catch_up == [A, B, B]  # one 429, retried
    state = consumer.source.state
    assert state.status is FeedStatus.LIVE and state.connections == 2 and state.gap is None
    assert [s.status for s in consumer.states].count(FeedStatus.RECONNECTING) >= 1


async def test_unfetchable_minutes_are_announced_as_a_gap(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    consumer = consume(make_source(fake, token_file, calendar))
    await fake.wait_for(lambda: len(fake.requests) == 1)
    await fake.send(full_frame(ms(M + 10), {A: [minute(M, 100)], B: [minute(M, 50)]}))
    await fake.send(full_frame(ms(M + 62), {A: [minute(M, 100), minute(M + 60, 101)]}))
    assert (await consumer.next()).open_ts == M
    fake.rate_limit_candles = 1_000  # the intraday API refuses every request
    fake.drop()
    await fake.wait_for(lambda: len(fake.requests) == 2)
    await fake.send(
        full_frame(ms(M + 305), {A: [minute(M + 240, 104), minute(M + 300, 105)], B: [minute(M + 300, 55)]})
    )
    state = await consumer.state(lambda s: s.gap is not None)
    assert state.gap is not None
    assert (state.gap.first_open, state.gap.last_close, state.gap.minutes) == (M + 60, M + 300, 4)
    assert state.gap.instruments == (A, B) and "Too Many Request" in state.gap.reason
    # The live feed goes on: minute M+4 (A's closed candle came live, in the first frame) and M+5.
    await fake.send(full_frame(ms(M + 362), {A: [minute(M + 300, 105), minute(M + 360, 106)]}))
    got = [await consumer.next(), await consumer.next()]
    assert [b.open_ts for b in got] == [M + 240, M + 300]


async def test_a_stalled_feed_is_reconnected_while_the_market_is_open(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    consumer = consume(make_source(fake, token_file, calendar, upstox_data_timeout=0.3))
    await fake.wait_for(lambda: len(fake.requests) == 1)
    await fake.send(market_info_frame(ms(M + 1), "NORMAL_OPEN"))
    await consumer.state(lambda s: s.segment == "NORMAL_OPEN" and s.status is FeedStatus.LIVE)
    # From now on the fake sends only pings: alive, but not streaming.
    await fake.wait_for(lambda: len(fake.connections) == 2 and len(fake.requests) == 2)
    statuses = [s.status for s in consumer.states]
    assert FeedStatus.STALLED in statuses
    stalled = next(s for s in consumer.states if s.status is FeedStatus.STALLED)
    assert stalled.error is not None and "pings only" in stalled.error


async def test_pings_keep_a_closed_market_connected(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    consumer = consume(make_source(fake, token_file, calendar, upstox_data_timeout=0.2, upstox_stall_timeout=1.0))
    await fake.wait_for(lambda: len(fake.requests) == 1)
    await fake.send(market_info_frame(ms(M + 1), "NORMAL_CLOSE"))
    await consumer.state(lambda s: s.status is FeedStatus.MARKET_CLOSED)
    assert consumer.source.state.segment == "NORMAL_CLOSE"
    start = fake.pings_sent
    await fake.wait_for(lambda: fake.pings_sent >= start + 30)  # 1.5 s of pings: past both timeouts
    assert len(fake.connections) == 1 and consumer.source.state.status is FeedStatus.MARKET_CLOSED


async def test_an_expired_token_is_named_and_a_rewritten_token_file_recovers(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    token_file.write_text("expired-token\n")
    consumer = consume(make_source(fake, token_file, calendar))
    state = await consumer.state(lambda s: s.status is FeedStatus.TOKEN_EXPIRED)
    assert state.error is not None and "token expired or invalid" in state.error
    assert "Invalid token used to access API" in state.error and fake.connections == []
    token_file.write_text("good-token\n")
    await fake.wait_for(lambda: len(fake.requests) == 1)
    await fake.send(market_info_frame(ms(M + 1), "NORMAL_OPEN"))
    state = await consumer.state(lambda s: s.status is FeedStatus.LIVE)
    assert state.error is None and fake.authorize_tokens[-1] == "good-token"


async def test_a_missing_token_file_and_a_failed_authorize_are_retried(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    token_file.unlink()
    consumer = consume(make_source(fake, token_file, calendar))
    state = await consumer.state(lambda s: s.status is FeedStatus.NO_TOKEN)
    assert state.error is not None and "SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE" in state.error
    fake.fail_authorize = 1
    token_file.write_text("good-token\n")
    state = await consumer.state(lambda s: s.status is FeedStatus.RECONNECTING and "HTTP 500" in (s.error or ""))
    assert "Something went wrong" in (state.error or "")
    await fake.wait_for(lambda: len(fake.requests) == 1)
    assert fake.authorize_tokens == ["good-token", "good-token"]


async def test_a_frame_that_is_not_a_feed_response_reconnects(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    consumer = consume(make_source(fake, token_file, calendar))
    await fake.wait_for(lambda: len(fake.requests) == 1)
    await fake.send(b"\xff\xff\xff")
    await fake.wait_for(lambda: len(fake.requests) == 2)
    errors = [s.error for s in consumer.states if s.status is FeedStatus.RECONNECTING]
    assert any("not a FeedResponse" in (e or "") for e in errors)


async def test_a_ten_minute_outage_is_caught_up_minute_by_minute(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    consumer = consume(make_source(fake, token_file, calendar))
    await fake.wait_for(lambda: len(fake.requests) == 1)
    await fake.send(full_frame(ms(M + 10), {A: [minute(M, 100)], B: [minute(M, 50)]}))
    await fake.send(full_frame(ms(M + 62), {A: [minute(M, 100), minute(M + 60, 101)], B: [minute(M + 60, 51)]}))
    assert (await consumer.next()).open_ts == M

    # Upstox is unreachable for ten minutes: the connection drops and every authorize fails
    # meanwhile. Its intraday API has every minute once it is back.
    fake.fail_authorize = 5
    fake.candles = {
        A: [minute(M + 60 * i, 100 + i) for i in range(1, 12)],
        B: [minute(M + 60 * i, 50 + i) for i in range(1, 12)],
    }
    fake.drop()
    await consumer.state(lambda s: s.status is FeedStatus.RECONNECTING and "HTTP 500" in (s.error or ""))
    await fake.wait_for(lambda: len(fake.requests) == 2)
    assert len(fake.authorize_tokens) == 1 + 5 + 1  # the first, five refused, the one that worked

    # Back in minute M+11: minutes M+1..M+10 come from the intraday API, in order, none missing.
    await fake.send(full_frame(ms(M + 662), {A: [minute(M + 600, 110), minute(M + 660, 111)]}))
    got = [await consumer.next() for _ in range(10)]
    assert [b.open_ts for b in got] == [M + 60 * i for i in range(1, 11)]
    assert [b.close[1] for b in got] == [50.5 + i for i in range(1, 11)]  # B's minutes, all fetched
    state = consumer.source.state
    assert state.status is FeedStatus.LIVE and state.gap is None and state.connections == 2
