"""The daily summary: once per exchange day, after the square-off, the day's closed trades in
a few figures (PnL, trades, win rate, best and worst trade, charges).

The market's bars say when the square-off has come: the first BarSet of a day that closes at or
after SIGNALDESK_HFT_SQUARE_OFF (the moment the engine closes everything) starts that day's
summary. It waits until the engine has closed its trades (the trade store has none open, looked
at every `poll` seconds for at most `wait` seconds; any still open are named), then reads the
day's trades from the store. The figures are the simple ones computed here; nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time

from app.market.bars import BarSet
from app.notify.kinds import Alert, AlertKind, rupees
from app.trading.store import TradeStore
from app.trading.strategy import ist_day, square_off_ts
from app.trading.trades import Trade

log = logging.getLogger(__name__)
DAY = 86_400


@dataclass(frozen=True, slots=True)
class DaySummary:
    day: str
    trades: list[Trade]
    still_open: int

    @property
    def pnl(self) -> float:
        return sum(t.pnl or 0.0 for t in self.trades)

    @property
    def wins(self) -> int:
        return sum((t.pnl or 0.0) > 0 for t in self.trades)

    @property
    def charges(self) -> float:
        return sum(t.entry_charges + t.exit_charges for t in self.trades)

    def alert(self) -> Alert:
        trades = f"{len(self.trades)} trade{'' if len(self.trades) == 1 else 's'}"
        title = f"daily summary {self.day}: {rupees(self.pnl)} over {trades}"
        lines = [f"PnL {rupees(self.pnl)} net of charges, {trades}"]
        if self.trades:
            best = max(self.trades, key=lambda t: t.pnl or 0.0)
            worst = min(self.trades, key=lambda t: t.pnl or 0.0)
            lines += [
                f"win rate {self.wins / len(self.trades):.0%} ({self.wins} of {len(self.trades)})",
                f"best #{best.trade_id} {best.instrument_key} {rupees(best.pnl or 0.0)}",
                f"worst #{worst.trade_id} {worst.instrument_key} {rupees(worst.pnl or 0.0)}",
                f"charges {rupees(self.charges, sign=False)}",
            ]
        if self.still_open:
            lines.append(f"{self.still_open} trades still open (not squared off: see the dashboard)")
        return Alert(AlertKind.DAILY_SUMMARY, title, "\n".join(lines), "success" if self.pnl >= 0 else "warning")


class DailySummary:
    """A MarketFeed bar listener (inline); the summary is made on a task.

    :param square_off: SIGNALDESK_HFT_SQUARE_OFF (IST).
    :param wait: seconds the summary waits for the day's trades to close.
    """

    def __init__(
        self,
        trades: TradeStore,
        emit: Callable[[Alert], None],
        *,
        square_off: time,
        wait: float,
        poll: float = 1.0,
    ) -> None:
        self.trades = trades
        self.square_off = square_off
        self.wait = wait
        self.poll = poll
        self._emit = emit
        self._last_day: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def on_bars(self, bars: BarSet) -> None:
        day = ist_day(bars.close_ts)
        if day == self._last_day or bars.close_ts < square_off_ts(bars.close_ts, self.square_off):
            return
        self._last_day = day
        midnight = square_off_ts(bars.close_ts, time(0))
        task = asyncio.get_running_loop().create_task(self._summarise(day, midnight), name=f"daily-summary:{day}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _summarise(self, day: str, midnight: int) -> None:
        try:
            still_open = await self._open_after_waiting()
            closed = await self.trades.closed_between(midnight, midnight + DAY)
        except Exception as e:  # the database: say so rather than send nothing
            log.exception("notify: the daily summary of %s could not be read", day)
            self._emit(Alert(AlertKind.DAILY_SUMMARY, f"daily summary {day} unavailable", f"{type(e).__name__}: {e}"))
            return
        self._emit(DaySummary(day, closed, still_open).alert())

    async def _open_after_waiting(self) -> int:
        deadline = clock.monotonic() + self.wait
        while True:
            still_open = len(await self.trades.open_trades())
            if not still_open or clock.monotonic() >= deadline:
                return still_open
            await asyncio.sleep(self.poll)
