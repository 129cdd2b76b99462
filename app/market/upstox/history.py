"""Historical candles from Upstox into the candle store, span by span.

Used by `signaldesk candles fetch` and the `backfill` automation's `source: upstox`.

- Our intervals map onto Upstox's `{unit}/{interval}`: 1m-15m are `minutes/N` in spans of a
  calendar month; 30m (`minutes/30`) and 1h (`hours/1`) in spans of a calendar quarter; 1d
  (`days/1`) in spans of a calendar decade. Upstox takes at most one month per request for
  minutes 1-15, one quarter above 15 minutes and for hours, one decade for days. Spans are
  calendar-aligned so a second run, from whatever date, meets the same spans.
- Requests are paced: at most `rate` a second (default 1, under Upstox's 50/s, 500/min and
  2,000/30 min per user and API). A 429 waits Retry-After (else a doubling delay) and tries
  again, as do network failures and 5xx, `attempts` times in all (`retry.py`).
- Each span is checked like a file (`candle_checks`: Upstox's newest-first rows come out oldest
  first) and stored in one transaction. A bad candle refuses the span, naming its row in
  `data.candles`; nothing of that span is stored and the fetch stops (`HistoryFetchFailed`).
  Spans stored before stay.
- Resume: a span that already holds stored candles of the instrument and interval is skipped
  (unless `refetch`), except the span holding `today`, which is still growing. An interrupted
  fetch, run again, fetches only the spans it had not stored.
- Daily candles: Upstox stamps a day's candle 00:00 IST; it is stored at the date's session
  open, 09:15 IST (03:45 UTC), where the calendar's 1d grid, the simulated market and bare-date
  files put a daily bar (one timestamp per day, whichever way it came in).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, NamedTuple

import pandas as pd

from app.market.calendar import DAY, IST, IST_OFFSET, session_open_on
from app.market.candles import CandleStore
from app.market.errors import CandleImportError
from app.market.importers import check_upstox_candles
from app.market.intervals import Interval
from app.market.upstox.access_token import AccessToken
from app.market.upstox.errors import HistoryFetchFailed, TokenUnavailable, UpstoxError
from app.market.upstox.rest import UpstoxRest
from app.market.upstox.retry import with_retries

if TYPE_CHECKING:
    from app.core.config import Settings

Sleep = Callable[[float], Awaitable[None]]


class UpstoxInterval(NamedTuple):
    """An interval as Upstox's path names it, and how many months one request may span."""

    unit: str
    value: int
    span_months: int


UPSTOX_INTERVALS: dict[str, UpstoxInterval] = {
    **{f"{n}m": UpstoxInterval("minutes", n, 1) for n in (1, 3, 5, 10, 15)},
    "30m": UpstoxInterval("minutes", 30, 3),
    "1h": UpstoxInterval("hours", 1, 3),
    "1d": UpstoxInterval("days", 1, 120),
}


@dataclass(frozen=True, slots=True)
class Span:
    """Dates (IST) `first`..`last`, both included: one request."""

    first: date
    last: date

    def __str__(self) -> str:
        return f"{self.first}..{self.last}"

    @property
    def start_ts(self) -> int:
        return _ist_midnight(self.first)

    @property
    def end_ts(self) -> int:
        """The last second of `last` (IST)."""
        return _ist_midnight(self.last) + DAY - 1


def split_spans(interval: Interval, first: date, last: date) -> list[Span]:
    """`first`..`last` cut at Upstox's span boundaries (calendar months, quarters or decades), oldest first."""
    months = UPSTOX_INTERVALS[interval.name].span_months
    spans: list[Span] = []
    start = first
    while start <= last:
        month = start.year * 12 + start.month - 1
        after = (month // months + 1) * months  # the first month of the next block
        block_end = date(after // 12, after % 12 + 1, 1) - timedelta(days=1)
        spans.append(Span(start, min(block_end, last)))
        start = block_end + timedelta(days=1)
    return spans


@dataclass(frozen=True, slots=True)
class Pacing:
    """:param rate: requests a second at most.
    :param attempts: tries per request (429s and transient failures are tried again).
    :param delay: the first retry delay in seconds (doubling) when Upstox gives no Retry-After."""

    rate: float = 1.0
    attempts: int = 6
    delay: float = 1.0


@dataclass(frozen=True, slots=True)
class HistoryAccess:
    """Where a server's or worker's history fetches go: the base URL, the token, the pace;
    `clock` (epoch seconds) says which day today is."""

    base_url: str
    token: AccessToken
    pacing: Pacing
    clock: Callable[[], float] = time.time

    @classmethod
    def of_settings(cls, settings: Settings) -> HistoryAccess | None:
        """From SIGNALDESK_UPSTOX_*; None without exactly one token setting."""
        try:
            token = AccessToken.of_settings(settings)
        except TokenUnavailable:
            return None
        return cls(settings.upstox_base_url, token, Pacing(rate=settings.upstox_history_rate))

    def today(self) -> date:
        return ist_date(self.clock())


@dataclass(frozen=True, slots=True)
class SpanDone:
    """One span handled: fetched and stored (`written` rows new or changed), or skipped."""

    span: Span
    number: int  # 1-based
    total: int
    candles: int
    written: int
    skipped: bool


@dataclass(slots=True)
class FetchResult:
    spans: int = 0
    fetched: int = 0
    skipped: int = 0
    candles: int = 0
    written: int = 0
    first_ts: int | None = None
    last_ts: int | None = None


class HistoryFetcher:
    """Fetches `first`..`last` of one instrument and interval into the store (see the module docstring)."""

    def __init__(
        self,
        rest: UpstoxRest,
        token: AccessToken,
        store: CandleStore,
        *,
        pacing: Pacing | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rest = rest
        self.token = token
        self.store = store
        self.pacing = pacing or Pacing()
        self._sleep = sleep
        self._monotonic = monotonic
        self._next_request = 0.0

    async def fetch(
        self,
        instrument_key: str,
        interval: Interval,
        first: date,
        last: date,
        *,
        today: date,
        refetch: bool = False,
        on_span: Callable[[SpanDone], None] | None = None,
    ) -> FetchResult:
        """Every span of `first`..`last`, in order; HistoryFetchFailed at the first that fails."""
        spans = split_spans(interval, first, last)
        result = FetchResult(spans=len(spans))
        for number, span in enumerate(spans, 1):
            growing = span.first <= today <= span.last
            if not refetch and not growing and await self._stored(instrument_key, interval, span):
                result.skipped += 1
                done = SpanDone(span, number, len(spans), 0, 0, skipped=True)
            else:
                try:
                    frame = await self._span(instrument_key, interval, span)
                    written = await self.store.upsert(instrument_key, interval, frame)
                except (UpstoxError, CandleImportError) as e:
                    raise HistoryFetchFailed(instrument_key, interval.name, str(span), e, stored=result.fetched) from e
                result.fetched += 1
                result.candles += len(frame)
                result.written += written
                if len(frame):
                    lo, hi = int(frame["ts"].iloc[0]), int(frame["ts"].iloc[-1])
                    result.first_ts = lo if result.first_ts is None else min(result.first_ts, lo)
                    result.last_ts = hi if result.last_ts is None else max(result.last_ts, hi)
                done = SpanDone(span, number, len(spans), len(frame), written, skipped=False)
            if on_span is not None:
                on_span(done)
        return result

    async def _stored(self, instrument_key: str, interval: Interval, span: Span) -> bool:
        return await self.store.has(instrument_key, interval, span.start_ts, span.end_ts)

    async def _span(self, instrument_key: str, interval: Interval, span: Span) -> pd.DataFrame:
        """The span's candles, checked, ascending (daily ones moved to their session open)."""
        upstox = UPSTOX_INTERVALS[interval.name]

        async def request() -> list[object]:
            await self._pace()
            token = self.token.read()
            return await self.rest.historical_candles(
                token, instrument_key, upstox.unit, upstox.value, span.first, span.last
            )

        rows = await with_retries(request, attempts=self.pacing.attempts, delay=self.pacing.delay, sleep=self._sleep)
        source = f"upstox {instrument_key} {interval.name} {span}"
        frame = await asyncio.to_thread(check_upstox_candles, rows, interval, source)
        if not interval.intraday:
            frame["ts"] = frame["ts"].map(session_open_on)  # a few thousand days at most
        return frame

    async def _pace(self) -> None:
        """Wait until 1/rate seconds have passed since the previous request began."""
        now = self._monotonic()
        wait = self._next_request - now
        if wait > 0:
            await self._sleep(wait)
        self._next_request = max(now, self._next_request) + 1.0 / self.pacing.rate


def _ist_midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()) - IST_OFFSET


def ist_date(ts: float) -> date:
    """The IST date of an epoch second."""
    return datetime.fromtimestamp(ts, IST).date()
