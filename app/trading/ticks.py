"""The engine's mailbox of ticks: the latest trade price of each instrument it holds a trade in.

The market feed calls `offer` inline on its source's task for every message of ticks; `offer`
keeps, for each watched instrument (one with an open trade), only its latest trade, and never
waits: a busy engine cannot slow the feed, and the mailbox holds at most one price per open
trade however many ticks come. The engine takes them when it is free
(`TradingEngine.on_trade_prices(mailbox.take)`): prices that came while it was busy are
conflated to the latest (`conflated` counts the ones overwritten unseen).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection

from app.market.ticks import LastTrades

TradePrice = tuple[str, float, float]  # instrument key, last traded price, its time (epoch s)


class LatestPrices:
    """:param watched: the instruments whose prices matter now (the engine's open trades'),
    asked on every offer."""

    def __init__(self, watched: Callable[[], Collection[str]]) -> None:
        self._watched = watched
        self._latest: dict[str, tuple[float, float]] = {}
        self._ready = asyncio.Event()
        self.conflated = 0

    def offer(self, trades: LastTrades) -> None:
        """Keep each watched instrument's trade in `trades` (a feed's tick listener)."""
        latest = self._latest
        for key in self._watched():
            trade = trades.get(key)
            if trade is None or not trade.ltt:
                continue
            if key in latest:
                self.conflated += 1
            latest[key] = (float(trade.ltp), trade.ltt / 1000)
        if latest:
            self._ready.set()

    def take(self) -> list[TradePrice]:
        """The prices kept since the last take (each instrument's latest), and forget them."""
        latest, self._latest = self._latest, {}
        self._ready.clear()
        return [(key, price, ts) for key, (price, ts) in latest.items()]

    def pending(self) -> int:
        return len(self._latest)

    async def wait(self) -> None:
        """Until there is a price to take."""
        await self._ready.wait()
