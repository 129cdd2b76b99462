"""Stops held at the broker (SIGNALDESK_HFT_BROKER_STOPS, on a live venue with `StopOrders`:
Upstox's SL-M), so an open trade keeps its protection while our server is down.

Per trade (the engine calls these under its lock, each request past the two-key gate first):
- `protect`: once the entry filled, a stop order rests at the broker: the opposite side, the
  open quantity, triggered at the engine's stop rounded to the instrument's tick in the
  protective direction (up for a long's sell stop, down for a short's buy stop). It is an
  engine order (`Purpose.STOP`, tag `sd-<order id>` at the broker, so reconciliation never
  takes it for a foreign order), stored in `hft_orders` with the trade's id: a restarted
  server reloads the working ones (`TradeStore.working_stops`).
- `trail`: the engine's stop trailed: the trigger moves, when it tightens by a tick or more.
- `release`: before any exit of the engine's own, the stop is cancelled and its final status
  waited for. Cancelled: the exit goes out. Filled (the cancel came too late, or was refused
  because it had filled): the trade closes at the broker's fill with reason `stop` and no exit
  is sent. No answer in time: `hft.manage_error` naming the stop, and no exit (tried again at
  the next bar): a blind exit could sell twice.
- `ended`: the broker says a stop ended while nobody waited on it (the portfolio stream): a
  fill closes its trade (`stop`); a cancel at the broker is reported and the stop placed again.
  A stop that fills after its cancel was confirmed (and the engine's exit sent) is the race
  where both filled: reported naming both orders, and the surplus squared off at once.
- `reconcile` (at the first bar and all day, before positions are compared): every working
  stop is looked up, so one that filled while the server (or the stream) was down closes its
  trade with reason `stop` at that fill and no second exit; an open trade without a working
  stop gets one.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from app.events import HftEvent, HftManageError
from app.trading.book import Book
from app.trading.brokers.base import StopOrders
from app.trading.enums import ExitReason, OrderStatus, Purpose, Side, TradeStatus
from app.trading.errors import BrokerError
from app.trading.journal import Journal
from app.trading.orders import Order, OrderRequest, OrderResult
from app.trading.risk import RiskGate
from app.trading.strategy import Strategy
from app.trading.trades import Trade


class StopsHost(Protocol):
    """What BrokerStops uses of the engine that holds it (`app.trading.engine.TradingEngine`),
    named here so that the engine imports this module and not the other way round."""

    book: Book
    risk: RiskGate
    strategy: Strategy
    journal: Journal
    orders_sent: int

    def emit(self, event: HftEvent) -> None: ...
    def gate_refuses(self) -> str | None: ...
    def latest_price(self, key: str) -> float | None: ...
    def order(
        self, trade_id: int | None, key: str, side: Side, qty: int, purpose: Purpose, reason: str, price: float, ts: int
    ) -> Order: ...
    async def send(self, order: Order) -> OrderResult: ...
    def stage_order(self, order: Order) -> None: ...
    def stage_trade(self, trade: Trade) -> None: ...
    def book_exit(
        self, trade: Trade, filled: int, price: float, charges: float, reason: str, ts: int, note: str | None = None
    ) -> None: ...
    async def on_stop_ended(self, stop_order_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Release:
    """What releasing a trade's broker stop came to: `go`: the engine may send its exit;
    otherwise `error` says why not (None: the stop filled and closed the trade)."""

    go: bool
    error: str | None = None


GO = Release(True)


class BrokerStops:
    """The run's stops at the broker: see the module docstring.

    :param working: the stop orders working at the broker when the run (re)starts (the journal's).
    """

    def __init__(self, engine: StopsHost, venue: StopOrders, working: Iterable[Order] = ()) -> None:
        self.engine = engine
        self.venue = venue
        self.working: dict[int, Order] = {o.trade_id: o for o in working}  # trade id -> its stop
        self.released: dict[int, Order] = {}  # stop order id -> a stop cancelled before an exit
        self.exits: dict[int, int] = {}  # trade id -> the exit order sent after its stop was cancelled
        self._tasks: set[asyncio.Task[None]] = set()
        venue.add_stop_listener(self._on_stop_ended)

    def trigger(self, trade: Trade) -> float:
        """The engine's stop on the instrument's tick, rounded in the protective direction."""
        spec = self.engine.strategy.specs[trade.instrument_key]
        ticks = trade.stop / spec.tick
        n = math.ceil(ticks - 1e-6) if trade.is_long else math.floor(ticks + 1e-6)
        return spec.ticks(n)

    @staticmethod
    def describe(stop: Order) -> str:
        return f"broker stop order {stop.order_id} ({stop.broker_order_id}) of trade {stop.trade_id}"

    # --- the stop's life -------------------------------------------------------------------

    async def protect(self, trade: Trade, ts: int) -> None:
        """Place the trade's stop at the broker; a failure is reported (the engine's own stop
        still watches the trade, and the next reconciliation tries again)."""
        engine = self.engine
        side = Side.to_close(trade.open_qty)
        trigger = self.trigger(trade)
        stop = engine.order(
            trade.trade_id, trade.instrument_key, side, abs(trade.open_qty), Purpose.STOP, ExitReason.STOP, trigger, ts
        )
        if engine.gate_refuses() is not None:
            stop.move(OrderStatus.DENIED)
            return
        await engine.risk.rate.acquire()
        stop.move(OrderStatus.SUBMITTED)
        engine.orders_sent += 1
        engine.stage_order(stop)
        await engine.journal.flush()  # the intent is stored before it leaves
        try:
            stop.broker_order_id = await self.venue.place_stop(stop.request())
        except BrokerError as e:
            stop.apply(OrderResult(OrderStatus.REJECTED, message=e.message))
            engine.stage_order(stop)
            engine.emit(
                HftManageError(
                    error=f"broker stop order {stop.order_id} of trade {trade.trade_id} ({trade.instrument_key}) "
                    f"at {trigger:.2f} not placed: {e.message}; the engine's own stop still watches the trade, "
                    "and the next reconciliation places it again"
                )
            )
            return
        self.working[trade.trade_id] = stop
        engine.stage_order(stop)

    async def trail(self, trade: Trade) -> None:
        """Move the trade's stop to the engine's trailed one: only tighter, by a tick or more."""
        stop = self.working.get(trade.trade_id)
        if stop is None or stop.broker_order_id is None:
            return
        tick = self.engine.strategy.specs[trade.instrument_key].tick
        trigger = self.trigger(trade)
        moved = trigger - stop.price if trade.is_long else stop.price - trigger
        if moved < tick - 1e-6 or self.engine.gate_refuses() is not None:
            return
        await self.engine.risk.rate.acquire()
        request = OrderRequest(stop.order_id, stop.instrument_key, stop.side, stop.qty, trigger, stop.ts)
        try:
            await self.venue.move_stop(stop.broker_order_id, request)
        except BrokerError as e:
            self.engine.emit(
                HftManageError(
                    error=f"{self.describe(stop)} not moved to {trigger:.2f}: {e.message}; it stays at {stop.price:.2f}"
                )
            )
            return
        stop.price = trigger
        self.engine.stage_order(stop)

    async def release(self, trade: Trade, reason: str, ts: int) -> Release:
        """Cancel the trade's stop before an exit of the engine's own (see the module docstring)."""
        stop = self.working.get(trade.trade_id)
        if stop is None:
            return GO
        engine = self.engine
        result = await self._cancel(stop)
        what = f"exit ({reason}) of trade {trade.trade_id} ({trade.instrument_key})"
        if result.status is OrderStatus.UNKNOWN:
            error = (
                f"{what}: the cancel of {self.describe(stop)} was not confirmed ({result.message}); "
                "no exit sent, tried again at the next bar"
            )
            engine.emit(HftManageError(error=error))
            trade.exit_pending = reason
            engine.stage_trade(trade)
            return Release(False, error)
        self._end(stop, result)
        if not result.filled_qty:
            self.released[stop.order_id] = stop
            return GO
        engine.emit(
            HftManageError(
                error=f"{what}: {self.describe(stop)} filled {result.filled_qty} at {result.avg_price:.2f} before "
                "its cancel; the trade closed at the broker's fill (stop), no exit sent"
            )
        )
        self._book_stop(trade, result, ts, "the broker's stop filled before the engine's exit")
        return Release(trade.status is TradeStatus.OPEN)  # what a partial fill left is exited

    def exit_sent(self, trade: Trade, exit_order: Order) -> None:
        """The engine's exit of `trade` went out after its stop was cancelled (named if both fill)."""
        self.exits[trade.trade_id] = exit_order.order_id

    async def ended(self, stop_order_id: int, ts: int) -> None:
        """The broker says the engine order `stop_order_id` ended while nobody waited on it."""
        working = next((s for s in self.working.values() if s.order_id == stop_order_id), None)
        released = self.released.get(stop_order_id)
        stop = working or released
        if stop is None or stop.broker_order_id is None:
            return  # not a stop of this run (a market order's late update)
        try:
            result = await self.venue.stop_state(stop.broker_order_id, stop.request())
        except BrokerError:
            return  # the next reconciliation looks again
        if result is None:
            return
        if working is not None:
            await self._settle(working, result, ts, "while the engine ran")
        elif result.filled_qty:
            del self.released[stop_order_id]
            await self._square_off_surplus(stop, result, ts)

    async def reconcile(self, ts: int) -> None:
        """Every working stop looked up (BrokerError: the caller's reconciliation is blind), then
        a stop for every open trade without one (and no exit pending)."""
        for stop in list(self.working.values()):
            assert stop.broker_order_id is not None
            result = await self.venue.stop_state(stop.broker_order_id, stop.request())
            if result is not None:
                await self._settle(stop, result, ts, "while it was not followed (the server or its stream down)")
            elif stop.trade_id not in self.engine.book.open:  # its trade closed by another way: the stop goes
                self._end(stop, await self._cancel(stop))
        for trade in list(self.engine.book.open.values()):
            if trade.trade_id not in self.working and trade.exit_pending is None:
                await self.protect(trade, ts)

    # --- helpers ---------------------------------------------------------------------------

    async def _cancel(self, stop: Order) -> OrderResult:
        """Cancel at the broker, past the gate first: its final status (UNKNOWN: refused, or no answer)."""
        assert stop.broker_order_id is not None
        refused = self.engine.gate_refuses()
        if refused is not None:
            return OrderResult(OrderStatus.UNKNOWN, message=refused)
        await self.engine.risk.rate.acquire()
        try:
            return await self.venue.cancel_stop(stop.broker_order_id, stop.request())
        except BrokerError as e:
            return OrderResult(OrderStatus.UNKNOWN, message=e.message)

    def _end(self, stop: Order, result: OrderResult) -> None:
        """The stop ended at the broker (`result`): no longer working; its row says how."""
        if result.status is OrderStatus.UNKNOWN:
            return
        self.working.pop(stop.trade_id, None)
        stop.apply(result)
        self.engine.stage_order(stop)

    async def _settle(self, stop: Order, result: OrderResult, ts: int, when: str) -> None:
        """A working stop ended: its fill closes the trade; a cancel at the broker puts it back."""
        self._end(stop, result)
        trade = self.engine.book.open.get(stop.trade_id)
        if trade is None:
            return
        if result.filled_qty:
            self.engine.emit(
                HftManageError(
                    error=f"{self.describe(stop)} ({trade.instrument_key}) filled {result.filled_qty} at "
                    f"{result.avg_price:.2f} {when}; the trade closed there (stop), no exit sent"
                )
            )
            self._book_stop(trade, result, ts, f"the broker's stop filled {when}")
            return
        self.engine.emit(
            HftManageError(
                error=f"{self.describe(stop)} ({trade.instrument_key}) ended at the broker without a fill "
                f"({result.message}); placed again"
            )
        )
        await self.protect(trade, ts)

    def _book_stop(self, trade: Trade, result: OrderResult, ts: int, note: str) -> None:
        trade.exit_pending = None  # the broker's stop closed it: its reason is `stop`
        self.engine.book_exit(trade, result.filled_qty, result.avg_price, result.charges, ExitReason.STOP, ts, note)

    async def _square_off_surplus(self, stop: Order, result: OrderResult, ts: int) -> None:
        """Both filled: the stop after its cancel was confirmed, and the engine's exit. The surplus
        (the stop's fill) is squared off with a market order, through the gate."""
        engine = self.engine
        key, filled = stop.instrument_key, result.filled_qty
        surplus = stop.side.sign * filled
        price = engine.latest_price(key) or result.avg_price
        exit_id = self.exits.pop(stop.trade_id, None)
        order = engine.order(None, key, Side.to_close(surplus), filled, Purpose.EXIT, ExitReason.RECONCILE, price, ts)
        squared = await engine.send(order)
        if squared.status is OrderStatus.FILLED and order.fill_price is not None:
            outcome = f"squared off {surplus:+d} at {order.fill_price:.2f} (order {order.order_id})"
        else:
            outcome = (
                f"squaring off {surplus:+d} (order {order.order_id}) {squared.status}: {squared.message}; "
                "the next reconciliation squares it off"
            )
        engine.emit(
            HftManageError(
                error=f"{self.describe(stop)} ({key}) filled {filled} at {result.avg_price:.2f} after its cancel "
                f"was confirmed, and exit order {exit_id} filled too: both filled; {outcome}"
            )
        )

    def _on_stop_ended(self, stop_order_id: int) -> None:
        """The broker's listener (on the event loop): handled under the engine's lock."""
        task = asyncio.get_running_loop().create_task(self.engine.on_stop_ended(stop_order_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
