"""Minutes from feed frames: the 1-minute candles one connection has seen, by minute.

- full mode: each `fullFeed.marketFF` (or `indexFF`) carries `marketOHLC.ohlc[]`; its `I1`
  candles are the previous, closed minute and the current one, `ts` their start in epoch ms.
  The latest version of each minute's candle wins, so a minute ends with Upstox's closed candle.
- ltpc mode: each `ltpc` is the last trade (`ltp`, `ltt` epoch ms, `ltq`); trades are
  aggregated into the minute of `ltt`. Upstox repeats the last trade in some messages (the
  initial feed, a changed close price): a trade equal to the instrument's previous one
  (same ltt, ltp, ltq) is not counted again.

The builder's clock is the server's: the largest `currentTs` seen. A minute is closed once the
clock is `grace` seconds past its end; `first_open` is the start of the minute the clock stood
in at the first frame (in ltpc mode that minute is partial: trades before it were not seen).
"""

from __future__ import annotations

from typing import Any

from app.market.upstox.connection import Mode
from app.market.upstox.minutes import MINUTE, Candle


class MinuteBuilder:
    def __init__(self, instruments: tuple[str, ...], mode: Mode, *, grace: float) -> None:
        self.mode = mode
        self.grace = grace
        self._wanted = frozenset(instruments)
        self._minutes: dict[int, dict[str, Candle]] = {}
        self._last_trade: dict[str, tuple[int, float, int]] = {}
        self.clock: float | None = None  # epoch s, the server's
        self.first_open: int | None = None
        self.late_trades = 0  # ltpc trades for minutes already taken

    def add(self, response: Any) -> None:
        """Take one decoded FeedResponse."""
        if response.currentTs:
            ts = response.currentTs / 1000
            if self.clock is None:
                self.first_open = int(ts // MINUTE * MINUTE)
            self.clock = ts if self.clock is None else max(self.clock, ts)
        for key, feed in response.feeds.items():
            if key not in self._wanted:
                continue
            if self.mode == "full":
                self._add_candles(key, feed)
            elif feed.HasField("ltpc"):
                self._add_trade(key, feed.ltpc)

    def closed_until(self) -> int | None:
        """Minutes ending at or before this time (epoch s) are closed; None before any clock."""
        return None if self.clock is None else int(self.clock - self.grace)

    def take(self, open_ts: int) -> dict[str, Candle]:
        """The candles of the minute starting at `open_ts` (removed, and every earlier minute too)."""
        for stale in [m for m in self._minutes if m < open_ts]:
            del self._minutes[stale]
        return self._minutes.pop(open_ts, {})

    def _add_candles(self, key: str, feed: Any) -> None:
        full = feed.fullFeed
        which = full.WhichOneof("FullFeedUnion")
        if which is None:
            return
        for ohlc in getattr(full, which).marketOHLC.ohlc:
            if ohlc.interval == "I1":
                open_ts = int(ohlc.ts // 1000)
                self._minutes.setdefault(open_ts, {})[key] = Candle(
                    open_ts, ohlc.open, ohlc.high, ohlc.low, ohlc.close, float(ohlc.vol)
                )

    def _add_trade(self, key: str, ltpc: Any) -> None:
        trade = (int(ltpc.ltt), float(ltpc.ltp), int(ltpc.ltq))
        if not trade[0] or self._last_trade.get(key) == trade:
            return
        self._last_trade[key] = trade
        ltt, price, quantity = trade
        open_ts = ltt // 1000 // MINUTE * MINUTE
        closed = self.closed_until()
        if closed is not None and open_ts + MINUTE <= closed and open_ts not in self._minutes:
            self.late_trades += 1
            return
        minute = self._minutes.setdefault(open_ts, {})
        c = minute.get(key)
        if c is None:
            minute[key] = Candle(open_ts, price, price, price, price, float(quantity))
        else:
            minute[key] = Candle(open_ts, c.open, max(c.high, price), min(c.low, price), price, c.volume + quantity)
