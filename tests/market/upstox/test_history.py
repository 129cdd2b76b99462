"""Historical candles from the fake Upstox into a real store: spans, order, resume, refusals, pacing and 429s."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date

import pytest

from app.market.candles import CandleStore
from app.market.errors import CandleImportError
from app.market.intervals import parse_interval
from app.market.upstox.access_token import AccessToken
from app.market.upstox.errors import HistoryFetchFailed
from app.market.upstox.history import HistoryFetcher, Pacing
from app.market.upstox.rest import UpstoxRest
from app.storage.db import Database
from tests.market.conftest import ist
from tests.market.upstox.conftest import A
from tests.market.upstox.fake import CandleRow, FakeUpstox

M1, D1 = parse_interval("1m"), parse_interval("1d")
TODAY = date(2026, 12, 6)
JAN, FEB, MAR = ("2024-01-15", "2024-01-31"), ("2024-02-01", "2024-02-29"), ("2024-03-01", "2024-03-10")


def minute_rows(*days: str, n: int = 3) -> list[CandleRow]:
    """n valid 1m candles from 09:15 IST on each day."""
    rows: list[CandleRow] = []
    for day in days:
        for i in range(n):
            price = 100.0 + i
            rows.append((ist(f"{day} 09:15") + 60 * i, price, price + 1, price - 1, price + 0.5, 10 + i))
    return rows


class Sleeper:
    """The fetcher's sleep and monotonic clock: every wait is recorded, and time moves by it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
async def make_fetcher(fake: FakeUpstox, database: Database) -> AsyncIterator[Callable[..., HistoryFetcher]]:
    rest = UpstoxRest(fake.url)

    def make(pacing: Pacing | None = None, sleeper: Sleeper | None = None) -> HistoryFetcher:
        sleeper = sleeper or Sleeper()
        return HistoryFetcher(
            rest,
            AccessToken(value="good-token"),
            CandleStore(database),
            pacing=pacing or Pacing(rate=1000, attempts=3, delay=0),
            sleep=sleeper.sleep,
            monotonic=sleeper.monotonic,
        )

    yield make
    await rest.aclose()


async def stored_ts(database: Database, interval: str = "1m") -> list[int]:
    return (await CandleStore(database).read(A, interval))["ts"].tolist()


async def test_a_range_is_split_into_monthly_spans_and_stored_oldest_first(
    fake: FakeUpstox, make_fetcher: Callable[..., HistoryFetcher], database: Database
) -> None:
    rows = minute_rows("2024-01-16", "2024-02-15", "2024-03-05")
    fake.history[(A, "minutes/1")] = rows
    result = await make_fetcher().fetch(A, M1, date(2024, 1, 15), date(2024, 3, 10), today=TODAY)
    assert fake.history_requests == [(A, "minutes/1", *JAN), (A, "minutes/1", *FEB), (A, "minutes/1", *MAR)]
    assert (result.spans, result.fetched, result.skipped, result.candles, result.written) == (3, 3, 0, 9, 9)
    frame = await CandleStore(database).read(A, "1m")
    assert frame["ts"].tolist() == [r[0] for r in rows]  # the fake answered newest first
    assert frame[["open", "high", "low", "close", "volume"]].values.tolist() == [list(r[1:]) for r in rows]


@pytest.mark.parametrize(
    ("interval", "path", "first", "last", "spans"),
    [
        ("15m", "minutes/15", "2024-01-31", "2024-02-01", [("2024-01-31", "2024-01-31"), ("2024-02-01", "2024-02-01")]),
        ("30m", "minutes/30", "2024-02-10", "2024-04-02", [("2024-02-10", "2024-03-31"), ("2024-04-01", "2024-04-02")]),
        ("1h", "hours/1", "2024-06-30", "2024-07-01", [("2024-06-30", "2024-06-30"), ("2024-07-01", "2024-07-01")]),
        (
            "1d",
            "days/1",
            "2005-03-01",
            "2024-01-01",
            [("2005-03-01", "2009-12-31"), ("2010-01-01", "2019-12-31"), ("2020-01-01", "2024-01-01")],
        ),
    ],
)
async def test_each_interval_asks_for_its_unit_in_spans_upstox_allows(
    fake: FakeUpstox,
    make_fetcher: Callable[..., HistoryFetcher],
    interval: str,
    path: str,
    first: str,
    last: str,
    spans: list[tuple[str, str]],
) -> None:
    iv = parse_interval(interval)
    await make_fetcher().fetch(A, iv, date.fromisoformat(first), date.fromisoformat(last), today=TODAY)
    assert fake.history_requests == [(A, path, lo, hi) for lo, hi in spans]


async def test_daily_candles_are_stored_at_the_session_open(
    fake: FakeUpstox, make_fetcher: Callable[..., HistoryFetcher], database: Database
) -> None:
    days = ("2024-01-02", "2024-01-03")
    fake.history[(A, "days/1")] = [(ist(f"{d} 00:00"), 10.0, 11.0, 9.0, 10.5, 1000) for d in days]
    await make_fetcher().fetch(A, D1, date(2024, 1, 1), date(2024, 1, 31), today=TODAY)
    assert await stored_ts(database, "1d") == [ist(f"{d} 09:15") for d in days]


async def test_an_interrupted_fetch_resumes_with_the_spans_it_had_not_stored(
    fake: FakeUpstox, make_fetcher: Callable[..., HistoryFetcher], database: Database
) -> None:
    rows = minute_rows("2024-01-16", "2024-02-15", "2024-03-05")
    fake.history[(A, "minutes/1")] = rows
    fake.history_fail_after = 1  # January answers, then every request fails (500)
    fetcher = make_fetcher()
    with pytest.raises(HistoryFetchFailed) as caught:
        await fetcher.fetch(A, M1, date(2024, 1, 15), date(2024, 3, 10), today=TODAY)
    assert caught.value.span == "2024-02-01..2024-02-29" and caught.value.stored == 1
    assert "Something went wrong" in str(caught.value) and "1 span stored before it kept" in str(caught.value)
    assert len(fake.history_requests) == 1 + 3  # February tried 3 times (500 is transient)
    assert await stored_ts(database) == [r[0] for r in rows[:3]]

    fake.history_fail_after = None
    fake.history_requests.clear()
    result = await fetcher.fetch(A, M1, date(2024, 1, 15), date(2024, 3, 10), today=TODAY)
    assert fake.history_requests == [(A, "minutes/1", *FEB), (A, "minutes/1", *MAR)]
    assert (result.fetched, result.skipped) == (2, 1)
    assert await stored_ts(database) == [r[0] for r in rows]

    fake.history_requests.clear()
    await fetcher.fetch(A, M1, date(2024, 1, 15), date(2024, 3, 10), today=TODAY, refetch=True)
    assert len(fake.history_requests) == 3


async def test_the_span_holding_today_is_fetched_again(
    fake: FakeUpstox, make_fetcher: Callable[..., HistoryFetcher]
) -> None:
    fake.history[(A, "minutes/1")] = minute_rows("2024-01-16")
    fetcher = make_fetcher()
    for _ in range(2):
        await fetcher.fetch(A, M1, date(2024, 1, 15), date(2024, 1, 20), today=date(2024, 1, 20))
    assert fake.history_requests == [(A, "minutes/1", "2024-01-15", "2024-01-20")] * 2


async def test_an_invalid_candle_refuses_its_span_like_a_file_row(
    fake: FakeUpstox, make_fetcher: Callable[..., HistoryFetcher], database: Database
) -> None:
    rows = minute_rows("2024-01-16", "2024-02-15", "2024-03-05")
    ts, o, h, low, c, v = rows[3]  # February's first candle: the last row of February's answer
    rows[3] = (ts, o, low - 5, low, c, v)
    fake.history[(A, "minutes/1")] = rows
    with pytest.raises(HistoryFetchFailed) as caught:
        await make_fetcher().fetch(A, M1, date(2024, 1, 15), date(2024, 3, 10), today=TODAY)
    cause = caught.value.cause
    assert isinstance(cause, CandleImportError)
    assert [(p.line, p.column) for p in cause.problems] == [(3, "high")]
    assert "2024-02-01..2024-02-29" in str(caught.value) and "nothing of this span was stored" in str(caught.value)
    assert await stored_ts(database) == [r[0] for r in rows[:3]]  # January only
    assert len(fake.history_requests) == 2  # March was not asked for


async def test_429s_wait_retry_after_and_requests_keep_the_pace(
    fake: FakeUpstox, make_fetcher: Callable[..., HistoryFetcher], database: Database
) -> None:
    fake.history[(A, "minutes/1")] = minute_rows("2024-01-16", "2024-02-15", "2024-03-05")
    fake.rate_limit_history = 2
    fake.retry_after = "2"
    sleeper = Sleeper()
    fetcher = make_fetcher(Pacing(rate=4, attempts=3, delay=0.5), sleeper)
    result = await fetcher.fetch(A, M1, date(2024, 1, 15), date(2024, 3, 10), today=TODAY)
    assert result.candles == 9 and len(fake.history_requests) == 5
    assert sleeper.waits == [2.0, 2.0, 0.25, 0.25]  # Retry-After twice; then 1/rate between requests

    fake.rate_limit_history = 3  # more 429s than attempts: the span fails, naming Upstox's answer
    with pytest.raises(HistoryFetchFailed) as caught:
        await fetcher.fetch(A, M1, date(2024, 1, 15), date(2024, 1, 31), today=TODAY, refetch=True)
    assert "Too Many Request Sent (UDAPI10005) (HTTP 429)" in str(caught.value)


async def test_an_upstox_error_body_is_named_and_not_retried(
    fake: FakeUpstox, make_fetcher: Callable[..., HistoryFetcher], database: Database
) -> None:
    fake.history_error = (400, "UDAPI1015", "to_date must be greater than or equal to from_date")
    with pytest.raises(HistoryFetchFailed) as caught:
        await make_fetcher().fetch(A, M1, date(2024, 1, 15), date(2024, 3, 10), today=TODAY)
    message = str(caught.value)
    assert "to_date must be greater than or equal to from_date (UDAPI1015) (HTTP 400)" in message
    assert f"{A} 1m 2024-01-15..2024-01-31" in message and caught.value.stored == 0
    assert len(fake.history_requests) == 1
    assert await stored_ts(database) == []
