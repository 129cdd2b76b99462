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

Speed (full mode): every message repeats each instrument's closed and forming candle, and only
the last version of a minute's candle is ever used. So `add` keeps a reference to Upstox's
`OHLC` message of each (minute, instrument) and reads its prices once, when the minute is taken:
a message costs a dict entry per candle, not six field reads and a tuple. The references keep
their frames' buffers alive until the minute is taken (at most the frames of the last two
minutes or so, each only while it has some instrument's latest candle).
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
        self._minutes: dict[int, dict[str, Any]] = {}  # minute start (epoch ms) -> key -> OHLC message | Candle
        self._last_trade: dict[str, tuple[int, float, int]] = {}
        self.clock: float | None = None  # epoch s, the server's
        self.first_open: int | None = None
        self.late_trades = 0  # ltpc trades for minutes already taken

    def add(self, response: Any, trades: dict[str, Any] | None = None) -> None:
        """Take one decoded FeedResponse. With `trades`, each wanted instrument's last trade in
        it (its `LTPC` message) is put there too: the ticks of this message."""
        if response.currentTs:
            ts = response.currentTs / 1000
            if self.clock is None:
                self.first_open = int(ts // MINUTE * MINUTE)
            self.clock = ts if self.clock is None else max(self.clock, ts)
        if self.mode == "full":
            self._add_candles(response, trades)
            return
        for key, feed in response.feeds.items():
            if key in self._wanted and feed.HasField("ltpc"):
                self._add_trade(key, feed.ltpc)
                if trades is not None:
                    trades[key] = feed.ltpc

    def closed_until(self) -> int | None:
        """Minutes ending at or before this time (epoch s) are closed; None before any clock."""
        return None if self.clock is None else int(self.clock - self.grace)

    def take(self, open_ts: int) -> dict[str, Candle]:
        """The candles of the minute starting at `open_ts` (removed, and every earlier minute too)."""
        open_ms = open_ts * 1000
        for stale in [m for m in self._minutes if m < open_ms]:
            del self._minutes[stale]
        minute = self._minutes.pop(open_ms, {})
        if self.mode == "ltpc":
            return minute
        return {key: Candle(open_ts, o.open, o.high, o.low, o.close, float(o.vol)) for key, o in minute.items()}

    def _add_candles(self, response: Any, trades: dict[str, Any] | None) -> None:
        wanted, minutes = self._wanted, self._minutes
        feeds = response.feeds
        for key in feeds:  # not .items(): the map's ItemsView is Python code, a lookup per item anyway
            if key not in wanted:
                continue
            full = feeds[key].fullFeed
            which = full.WhichOneof("FullFeedUnion")
            if which is None:
                continue
            market = getattr(full, which)
            if trades is not None:
                trades[key] = market.ltpc
            for ohlc in market.marketOHLC.ohlc:
                if ohlc.interval == "I1":
                    open_ms = ohlc.ts
                    minute = minutes.get(open_ms)
                    if minute is None:
                        minute = minutes[open_ms] = {}
                    minute[key] = ohlc

    def _add_trade(self, key: str, ltpc: Any) -> None:
        trade = (int(ltpc.ltt), float(ltpc.ltp), int(ltpc.ltq))
        if not trade[0] or self._last_trade.get(key) == trade:
            return
        self._last_trade[key] = trade
        ltt, price, quantity = trade
        open_ts = ltt // 1000 // MINUTE * MINUTE
        closed = self.closed_until()
        open_ms = open_ts * 1000
        if closed is not None and open_ts + MINUTE <= closed and open_ms not in self._minutes:
            self.late_trades += 1
            return
        minute = self._minutes.setdefault(open_ms, {})
        c = minute.get(key)
        if c is None:
            minute[key] = Candle(open_ts, price, price, price, price, float(quantity))
        else:
            minute[key] = Candle(open_ts, c.open, max(c.high, price), min(c.low, price), price, c.volume + quantity)
