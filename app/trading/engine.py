"""The trading engine: predictions in, orders out, every decision stored before it is announced.

One engine instance is one run (start to stop). It is driven from outside, the same way live
and in a backtest: `on_event` (the `prediction` channel's typed events: the bus listener and the
backtest both hand them in there), `on_bars` (one BarSet per bar close), live only
`on_trade_prices` (ticks between bar closes, below), and the commands `start`, `stop_entries`
(halt), `resume`, `flatten`, `stop`, `close`. It holds the bus only as an `EventSink`, the
journal, one venue (the broker orders go to, chosen by the two-key gate) and a clock (for the
order rate).

The engine owns its state (RUNNING, HALTED, STOPPED and why it is halted): every change stages
the `hft_engine` row and `hft.state` with it, so the row is committed before the event is
published, in the same commit as whatever caused it (a halt inside a bar goes out with that
phase's events). Reconciliation at the first bar carries out `app.trading.recovery.plan`; so
does `reconcile`, the same comparison during the day (the service calls it every
`SIGNALDESK_HFT_RECONCILE_INTERVAL` seconds and when asked: `TradingService.request_reconcile`).

Per bar, under the engine's lock, in phases (the strategy module says what each decides):
1. exits at the open: signal reversals, and exits that did not fill completely before;
2. entries at the open, for signals received since the last bar, through the risk gate;
3. the bar is folded into prices and volatility;
4. stops and targets against the bar's low/high;
5. at the close: square-off (and trades left from an earlier day), then time exits;
6. trailing stops at the close;
7. the daily loss limit: realized + open PnL of the day at or below -max_daily_loss halts the
   engine and flattens every trade (exit reason `daily_loss`); it stays halted until resumed.
   Each breach is kept in `daily_loss_halts` (the backtest reports them).
A bar where the engine is `idle` (no open trade, no pending signal) changes nothing but the
prices: a backtest hands it only the bars after which it is not idle (app.trading.backtest).
Each phase stages its rows, commits them (`journal.flush`), then publishes its events in one
`publish_many`: nothing is announced that is not stored (a phase that staged and emitted
nothing commits nothing: `Outbox.commit` returns at once). Phases that act on open trades return
at once when there are none (nothing to stage or publish).

Between bar closes, live, every tick (a trade price of an instrument with an open trade, from
the feed through `app.trading.ticks.LatestPrices`) is a price update too: under the same lock,
a trade whose price is at or beyond its stop (or target) exits at once at the tick's price, as
a stop-market order would (so beyond the stop when the market gapped through it), with the same
commit-then-publish. Ticks that came while the engine was busy are conflated to each
instrument's latest; ticks older than the latest bar's close are skipped (the bar's low and high
covered them), and so is everything before the first bar (trades not reconciled yet). Entries
stay at bar opens, trailing at bar closes, and phase 4 still checks each bar's low and high: it
catches a touch the ticks missed (a conflated one, a gap in the feed) at the level, as the
backtest does. Backtests have no ticks: their results are the bar-based ones.

With SIGNALDESK_HFT_BROKER_STOPS on a live venue that can (`StopOrders`), each trade's stop
also rests at the broker (`app.trading.broker_stops`): placed once the entry filled, moved when
it trails, cancelled (and the cancel confirmed) before any exit of the engine's own, looked up
at every reconciliation; the broker's word that it ended comes in by `on_stop_ended`.

The order of events per transition: start (and a recovered run): `hft.start, hft.broker,
hft.state`; a person's halt: `hft.state`; a halt inside the engine: `hft.error, hft.state` (in
that phase's commit; the daily loss limit's exits and `hft.flatten` follow in the next one);
resume: `hft.state`; stop: the exits and `hft.flatten`, then `hft.stop, hft.state`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast

from app.events import (
    Calibration,
    Event,
    EventSink,
    HftBroker,
    HftError,
    HftEvent,
    HftFlatten,
    HftManageError,
    HftStart,
    HftStop,
    PredictionCreated,
    PredictionResolved,
)
from app.market.bars import BarSet
from app.market.clock import Clock
from app.predictor.skill import SkillBook
from app.trading.book import Book
from app.trading.broker_stops import BrokerStops
from app.trading.brokers.base import Broker, OpenOrder, OpenOrders, StreamReconnects, holds_stops
from app.trading.enums import ExitReason, OrderStatus, Purpose, Side, TradeStatus
from app.trading.errors import BrokerError, EngineStateError, LiveTradingRefused, OrderDenied
from app.trading.gate import LiveGate
from app.trading.journal import Journal
from app.trading.native import Reduced, reduced
from app.trading.orders import Order, OrderResult
from app.trading.outbox import Outbox
from app.trading.prices import PriceBook
from app.trading.recovery import Mismatch, foreign_orders, plan
from app.trading.risk import OPEN_TRADE, DailyLossHalt, RateLimiter, RiskGate, RiskLimits
from app.trading.state import EngineSnapshot, EngineState, RunSettings
from app.trading.strategy import EntryPlan, Skip, Strategy, ist_day, ist_day_number
from app.trading.ticks import TradePrice
from app.trading.trades import Trade

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FlattenOutcome:
    """What a flatten did (`hft.flatten`'s fields): the one type the square-off automation and
    `POST /api/hft/flatten` answer with."""

    closed: int
    errors: list[str]

    def __reduce__(self) -> Reduced:
        return reduced(self)  # pickled by its fields: compiled, a frozen class is not (app.trading.native)


class TradingEngine:
    """See the module docstring.

    :param instruments: the market's universe, in BarSet order.
    :param interval: the bar interval traded; predictions of other intervals are ignored.
    :param venue: the connected broker orders go to (paper unless both gate keys are turned).
    :param safe_mode: this run's second key; checked with the gate on every order.
    :param broker: the broker the run asked for (the venue's name unless said).
    :param clock: paces the order rate (wall time live; the bars' time in backtests).
    :param book: open trades and ids (reloaded after a restart).
    :param state, halted_reason: where the run starts: RUNNING, or HALTED when a restart recovers a halted run.
    :param wall: epoch seconds, for the state row's timestamp.
    :param broker_stops: hold each trade's stop at the broker (`app.trading.broker_stops`), when
        the venue is live and can (`StopOrders`); ignored otherwise.
    :param stops: the stop orders working at the broker when a run is recovered (the journal's).
    :param outbox: where what the run decides is stored and announced from (`Outbox`; a
        backtest's fast path keeps its trades in memory: app.trading.backtest.KeptOutbox).
    """

    def __init__(
        self,
        *,
        instruments: tuple[str, ...],
        interval: str,
        strategy: Strategy,
        limits: RiskLimits,
        venue: Broker,
        safe_mode: bool,
        gate: LiveGate,
        journal: Journal,
        sink: EventSink,
        clock: Clock,
        broker: str | None = None,
        book: Book | None = None,
        prices: PriceBook | None = None,
        reconcile: bool = True,
        state: EngineState = EngineState.RUNNING,
        halted_reason: str | None = None,
        wall: Callable[[], float] = time.time,
        broker_stops: bool = False,
        stops: Iterable[Order] = (),
        outbox: type[Outbox] = Outbox,
    ) -> None:
        self.interval = interval
        self.strategy = strategy
        self.limits = limits
        self.venue = venue
        self.run = RunSettings(broker or venue.name, safe_mode, limits)
        self.gate = gate
        self.journal = journal
        self.outbox = outbox(
            journal=journal, sink=sink, gate=gate, run=self.run, state=state, halted_reason=halted_reason, wall=wall
        )
        self.clock = clock
        self.risk = RiskGate(limits, RateLimiter(limits.max_orders_per_second, clock))
        self.book = book or Book()
        self.prices = prices or PriceBook(instruments)
        self.signals: dict[str, PredictionCreated] = {}
        self.reversals: dict[int, str] = {}
        self.calibration: dict[tuple[str, str, int], Calibration] = {}
        self.skill = SkillBook(strategy.config.skill)
        self.denied: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.orders_sent = 0
        self.last_bar: tuple[int, int] | None = None  # (open_ts, close_ts) of the latest bar
        self.breached_day: str | None = None
        self.daily_loss_halts: list[DailyLossHalt] = []
        self._needs_reconcile = reconcile
        self.ticks: dict[str, tuple[float, float]] = {}  # the latest tick (price, epoch s) per traded instrument
        self.reconciled = 0  # reconciliations carried out (the start-up one and those during the day)
        self._lock = asyncio.Lock()
        self.stops = BrokerStops(self, venue, stops) if broker_stops and holds_stops(venue) else None

    @property
    def state(self) -> EngineState:
        return self.outbox.state

    @property
    def halted_reason(self) -> str | None:
        return self.outbox.halted_reason

    @property
    def idle(self) -> bool:
        """No open trade, no pending signal, reconciled: the next bar can only fold into the prices (its
        phases act on open trades and signals; the daily loss limit can only be crossed by a
        trade's PnL). A prediction handed in afterwards may end it."""
        return not self.book.open and not self.signals and not self._needs_reconcile

    @property
    def busy(self) -> bool:
        """A price update or a command holds the engine right now."""
        return self._lock.locked()

    async def settled(self) -> None:
        """Return once no price update or command holds the engine (at once when none does):
        for work that must not run beside its orders and fills (app.trading.broker_charges)."""
        if self._lock.locked():
            async with self._lock:
                pass

    # --- inputs from the prediction channel (synchronous: no I/O, called by the bus) -------

    def on_event(self, event: Event) -> None:
        """A `prediction` channel event: the one door predictions come in by, live (the bus
        listener) and in backtests alike. Other events are ignored. (Dispatched on the exact type:
        a pydantic model's isinstance check costs more than the rest of a prediction's handling.)"""
        kind = type(event)
        if kind is PredictionCreated:
            self._on_prediction(cast(PredictionCreated, event))
        elif kind is PredictionResolved:
            resolved = cast(PredictionResolved, event)
            self.calibration[(resolved.instrument_key, resolved.interval, resolved.horizon_steps)] = (
                resolved.calibration
            )
            self.skill.on_resolved(resolved)

    def _on_prediction(self, prediction: PredictionCreated) -> None:
        if prediction.interval != self.interval or prediction.instrument_key not in self.prices.index:
            return
        key = (prediction.instrument_key, prediction.interval, prediction.horizon_steps)
        skip = self.strategy.accepts(prediction, self.calibration.get(key), self.skill.on_created(prediction))
        if skip is not None:
            self.skipped[skip] += 1
            return
        self.on_accepted(prediction)

    def on_accepted(self, prediction: PredictionCreated) -> None:
        """A prediction the strategy accepts (`Strategy.accepts`, on the calibration and skill its
        pair had then): it may reverse its instrument's trade, and becomes the instrument's
        pending signal unless a newer or stronger one is. Its judgement depends on the
        prediction channel alone, so a backtest judges a replay's record whole, in columns, and
        hands in only these (app.trading.judged_replay)."""
        trade = self.book.by_instrument.get(prediction.instrument_key)
        if trade is not None:
            price = self.prices.price(prediction.instrument_key)
            if price is not None and self.strategy.reverses(trade, prediction, price):
                self.reversals[trade.trade_id] = ExitReason.SIGNAL
        if self.state is not EngineState.RUNNING:
            self.skipped["halted"] += 1
            return
        pending = self.signals.get(prediction.instrument_key)
        if (
            pending is None
            or pending.ts_pred < prediction.ts_pred
            or abs(pending.pred_ret_adj) < abs(prediction.pred_ret_adj)
        ):
            self.signals[prediction.instrument_key] = prediction

    # --- price updates -------------------------------------------------------------------

    async def on_bars(self, bars: BarSet) -> None:
        async with self._lock:
            await self.take_bars(bars)

    async def take_bars(self, bars: BarSet) -> None:
        """`on_bars` without the lock that keeps the engine's callers apart, for a caller that is
        its only one: a backtest's driver (the lock's coroutines, three a bar, interpreted, were
        a twentieth of a year's trade phase)."""
        if self.state is EngineState.STOPPED:
            return
        self.last_bar = (bars.open_ts, bars.close_ts)
        if self._needs_reconcile:
            self._needs_reconcile = False
            await self._reconcile(lambda key: self._bar_open(bars, key), bars.open_ts, halt_when_blind=True)
        await self._exits_at_open(bars)
        await self._entries_at_open(bars)
        self.prices.update(bars)
        await self._stops_and_targets()
        await self._exits_at_close(bars)
        await self._trail()
        await self._watch_daily_loss(bars)

    async def on_trade_price(self, key: str, price: float, ts: float) -> None:
        """One tick: `key` traded at `price` at `ts` (epoch s). See `on_trade_prices`."""
        await self.on_trade_prices(lambda: [(key, price, ts)])

    async def on_trade_prices(self, take: Callable[[], Iterable[TradePrice]]) -> None:
        """Ticks: stops and targets acted on at the tick's price (see the module docstring).
        `take` is called once the engine is free, so it reads the latest prices then."""
        async with self._lock:
            ticks = {key: (price, ts) for key, price, ts in take()}
            if self.state is EngineState.STOPPED or self.last_bar is None or self._needs_reconcile:
                return
            opened, covered = self.last_bar
            self.ticks.update((key, tick) for key, tick in ticks.items() if tick[1] >= covered)
            for trade in list(self.book.open.values()):
                tick = ticks.get(trade.instrument_key)
                if tick is None or tick[1] < covered or trade.exit_pending is not None:
                    continue  # an exit that did not fill is retried at the next bar's open
                reason = self.strategy.crossed(trade, tick[0])
                if reason is not None:  # booked at the open of the bar the tick falls in, as bar exits are
                    length = covered - opened
                    await self._exit(trade, tick[0], reason, covered + int((tick[1] - covered) // length) * length)
            await self.commit()

    async def _exits_at_open(self, bars: BarSet) -> None:
        if not self.book.open:
            return
        for trade in [t for t in self.book.open.values() if t.exit_pending or t.trade_id in self.reversals]:
            reason = self.reversals.get(trade.trade_id) or trade.exit_pending
            quote = self.prices.quote_in(bars, trade.instrument_key)
            if reason is not None and quote is not None:
                self.reversals.pop(trade.trade_id, None)
                await self._exit(trade, quote.open, reason, quote.open_ts)
        await self.commit()

    async def _entries_at_open(self, bars: BarSet) -> None:
        if not self.signals:
            return
        after_square_off = bars.close_ts >= self.strategy.square_off_ts(bars.close_ts)
        today = ist_day_number(bars.open_ts)
        for key, prediction in list(self.signals.items()):
            if prediction.ts_pred > bars.open_ts:
                continue  # made after this bar opened: its next price is a later bar
            self.signals.pop(key, None)  # a halt may have cleared them meanwhile
            has_bar = self.prices.has_bar(bars, key)
            stale = bars.open_ts >= prediction.ts_target or ist_day_number(prediction.ts_pred) != today
            if after_square_off or stale or not has_bar:
                self.skipped["after_square_off" if after_square_off else "stale" if has_bar else "no_bar"] += 1
                continue
            if self.risk.instrument_taken(self.book, key):  # denied whatever the size, so not sized
                self.denied[OPEN_TRADE] += 1
                continue
            await self._enter(prediction, bars)
        await self.commit()

    async def _stops_and_targets(self) -> None:
        if not self.book.open:
            return
        for trade in list(self.book.open.values()):
            quote = self.prices.quote(trade.instrument_key)
            hit = self.strategy.touched(trade, quote) if quote is not None else None
            if hit is not None and quote is not None:
                await self._exit(trade, hit[1], hit[0], quote.open_ts)
        await self.commit()

    async def _exits_at_close(self, bars: BarSet) -> None:
        if not self.book.open:
            return
        square_off = bars.close_ts >= self.strategy.square_off_ts(bars.close_ts)
        today = ist_day(bars.close_ts)
        for trade in list(self.book.open.values()):
            quote = self.prices.quote(trade.instrument_key)
            price = quote.close if quote is not None else self.prices.price(trade.instrument_key)
            if price is None:
                continue
            if square_off or trade.day < today:
                await self._exit(trade, price, ExitReason.SQUARE_OFF, bars.open_ts)
            elif bars.close_ts >= trade.exit_by and quote is not None:
                await self._exit(trade, price, ExitReason.TIME, bars.open_ts)
        await self.commit()

    async def _trail(self) -> None:
        if not self.book.open:
            return
        for trade in list(self.book.open.values()):
            quote = self.prices.quote(trade.instrument_key)
            if quote is None:
                continue
            best = trade.best
            stop = self.strategy.trailed_stop(trade, quote.close)
            if stop is not None:
                trade.stop = stop
                self.outbox.risk_moved(trade)
                if self.stops is not None:
                    await self.stops.trail(trade)
            if stop is not None or trade.best != best:
                self.stage_trade(trade)
        await self.commit()

    async def _watch_daily_loss(self, bars: BarSet) -> None:
        today = ist_day(bars.close_ts)
        pnl = self.day_pnl(today)
        if pnl > -self.limits.max_daily_loss or self.breached_day == today:
            return
        self.breached_day = today
        reason = f"daily loss limit breached: the day's PnL is {pnl:,.2f}, the limit {self.limits.max_daily_loss:,.2f}"
        self.daily_loss_halts.append(DailyLossHalt(bars.close_ts, today, float(pnl), reason))
        self.emit(HftError(error=f"{reason}; halted and flattening (resume: POST /api/hft/resume)"))
        self._halt(reason)
        await self.commit()
        await self._flatten(ExitReason.DAILY_LOSS, reason)

    # --- commands ------------------------------------------------------------------------

    async def start(self) -> None:
        """Announce the run (a start, or a run recovered after a restart): the state row is
        committed, then `hft.start`, `hft.broker` and `hft.state` go out in one publish."""
        run = self.run
        live = self.gate.live_trading_enabled
        await self.outbox.announce(
            HftStart(broker=run.broker, safe_mode=run.safe_mode, live_trading_enabled=live),
            HftBroker(broker=self.venue.name),
        )

    async def stop_entries(self, reason: str) -> bool:
        """The kill switch: HALTED now, no new entries (the risk gate checks before every order);
        open trades are still managed. Never waits behind a price update. False when not running."""
        if self.state is not EngineState.RUNNING:
            return False
        self.outbox.move(EngineState.HALTED, reason)
        self.signals.clear()
        await self.outbox.announce()
        return True

    async def resume(self) -> None:
        """HALTED -> RUNNING; refused (EngineStateError) while today's PnL is beyond the daily loss limit."""
        async with self._lock:
            if self.state is not EngineState.HALTED:
                raise EngineStateError("resume", self.state.value, "only a halted engine resumes")
            pnl = self.day_pnl(self.day())
            if pnl <= -self.limits.max_daily_loss:
                raise EngineStateError(
                    "resume",
                    self.state.value,
                    f"today's PnL {pnl:,.2f} is beyond the daily loss "
                    f"limit {self.limits.max_daily_loss:,.2f}; trading resumes on the next day",
                )
            self.outbox.move(EngineState.RUNNING)
            await self.outbox.announce()

    async def flatten(self, reason: ExitReason = ExitReason.FLATTEN, note: str | None = None) -> FlattenOutcome:
        """Close every open trade now at the latest price; publishes the exits, then `hft.flatten`."""
        async with self._lock:
            return await self._flatten(reason, note)

    async def stop(self) -> FlattenOutcome:
        """Flatten, then STOPPED (`hft.stop`, `hft.state`): price updates are ignored from then on.
        When the flatten leaves errors the engine is HALTED instead and keeps managing what is open."""
        async with self._lock:
            outcome = await self._flatten(ExitReason.FLATTEN, "stop")
            if outcome.errors:
                self._halt(f"stop could not flatten: {'; '.join(outcome.errors)}")
                await self.commit()
                return outcome
            self.outbox.move(EngineState.STOPPED)
            self.signals.clear()
            await self.outbox.announce(HftStop())
            return outcome

    async def close(self) -> None:
        """Stand down without changing the stored state: a price update in progress finishes its
        writes, then the venue is closed (shutdown, or this process is no longer the leader)."""
        async with self._lock:
            await self.journal.flush()
        with contextlib.suppress(Exception):
            await self.venue.close()

    async def _flatten(self, reason: ExitReason, note: str | None) -> FlattenOutcome:
        self.signals.clear()
        self.reversals.clear()
        closed, errors = 0, []
        ts = self.last_bar[0] if self.last_bar else 0
        for trade in list(self.book.open.values()):
            price = self.latest_price(trade.instrument_key)
            if price is None:
                errors.append(f"trade {trade.trade_id} ({trade.instrument_key}): no price yet; retried at the next bar")
                trade.exit_pending = reason
                continue
            error = await self._exit(trade, price, reason, ts, note=note, report=False)
            closed += trade.status is TradeStatus.CLOSED
            if error is not None:
                errors.append(error)
        self.emit(HftFlatten(closed=closed, errors=errors))
        await self.commit()
        return FlattenOutcome(closed, errors)

    # --- orders --------------------------------------------------------------------------

    async def _enter(self, prediction: PredictionCreated, bars: BarSet) -> None:
        """An entry at `bars`' open for a signal whose instrument has a bar there and no trade,
        through the risk gate."""
        key = prediction.instrument_key
        quote = self.prices.quote_in(bars, key)
        assert quote is not None
        now = bars.close_ts
        plan = self.strategy.plan(prediction, quote.open, self.prices.volatility(key), self.limits)
        if isinstance(plan, Skip):
            self.skipped[plan] += 1
            return
        try:
            self.risk.check_entry(
                self.book, instrument_key=key, qty=plan.qty, price=quote.open, now=now, halted=self.halted_reason
            )
        except OrderDenied as e:
            self.denied[e.reason] += 1
            return
        trade_id = self.book.trade_id()
        order = self.order(
            trade_id, key, Side.to_open(plan.qty), abs(plan.qty), Purpose.ENTRY, "signal", quote.open, quote.open_ts
        )
        result = await self.send(order)
        if not result.filled_qty:
            self.emit(HftManageError(error=f"entry order {order.order_id} for {key} {result.status}: {result.message}"))
            return
        if result.status is OrderStatus.PARTIAL:
            self.emit(
                HftManageError(
                    error=f"entry order {order.order_id} for {key} partial ({result.message}): "
                    f"trade {trade_id} opened with the {result.filled_qty} filled"
                )
            )
        trade = self._open_trade(trade_id, prediction, plan, order, quote.open_ts)
        if self.stops is not None:
            await self.stops.protect(trade, quote.open_ts)

    def _open_trade(
        self, trade_id: int, prediction: PredictionCreated, plan: EntryPlan, order: Order, ts: int
    ) -> Trade:
        assert order.fill_price is not None
        sign = 1 if plan.qty > 0 else -1
        fill = order.fill_price
        trade = Trade(
            trade_id=trade_id,
            instrument_key=order.instrument_key,
            qty=sign * order.filled_qty,
            entry=fill,
            entry_ts=ts,
            entry_charges=order.charges,
            stop=self.strategy.on_tick(order.instrument_key, fill - sign * plan.stop_distance),
            target=self.strategy.on_tick(order.instrument_key, fill + sign * plan.target_distance),
            stop_distance=plan.stop_distance,
            exit_by=prediction.ts_target,
            horizon_steps=prediction.horizon_steps,
            prediction_id=prediction.id,
            pred_ret_adj=prediction.pred_ret_adj,
            venue=self.venue.name,
            day=ist_day(ts),
            best=fill,
            open_qty=sign * order.filled_qty,
        )
        self.book.add(trade)
        self.stage_trade(trade)
        self.outbox.entered(trade)
        return trade

    async def _exit(
        self, trade: Trade, price: float, reason: str, ts: int, *, note: str | None = None, report: bool = True
    ) -> str | None:
        """Send the exit of what is open; book it. Returns the error text when it did not fully fill.
        A stop held at the broker is cancelled first (`BrokerStops.release`)."""
        reason = str(reason)
        if self.stops is not None:
            released = await self.stops.release(trade, reason, ts)
            if not released.go:
                return released.error
        await self.risk.rate.acquire()
        side = Side.to_close(trade.open_qty)
        order = self.order(
            trade.trade_id, trade.instrument_key, side, abs(trade.open_qty), Purpose.EXIT, reason, price, ts
        )
        if self.stops is not None:
            self.stops.exit_sent(trade, order)
        result = await self.send(order)
        if order.fill_price is not None:
            self.book_exit(trade, order.filled_qty, order.fill_price, order.charges, reason, ts, note)
        else:
            trade.exit_pending = reason
            self.stage_trade(trade)
        if result.status is OrderStatus.FILLED:
            return None
        error = f"exit ({reason}) of trade {trade.trade_id} ({trade.instrument_key}) {result.status}: {result.message}"
        if report:
            self.emit(HftManageError(error=error))
        return error

    def book_exit(
        self, trade: Trade, filled: int, price: float, charges: float, reason: str, ts: int, note: str | None = None
    ) -> None:
        """Book an exit fill on `trade`; once it is closed, announce it (`hft.exit`)."""
        if note is not None:
            trade.note = note
        self.book.changed()
        if trade.record_exit(filled, price, charges, ts, reason):
            self.book.close(trade, ist_day(ts))
            self.reversals.pop(trade.trade_id, None)
            if trade.exit_reason == ExitReason.STOP and self.limits.cooldown > 0 and self.last_bar is not None:
                self.book.cooldowns[trade.instrument_key] = self.last_bar[1] + self.limits.cooldown
            self.outbox.exited(trade)
        self.stage_trade(trade)

    def order(
        self, trade_id: int | None, key: str, side: Side, qty: int, purpose: Purpose, reason: str, price: float, ts: int
    ) -> Order:
        return Order(self.book.order_id(), trade_id or 0, self.venue.name, key, side, qty, purpose, reason, price, ts)

    async def send(self, order: Order) -> OrderResult:
        """Gate, then broker. A broker failure becomes a REJECTED result; nothing raises past here."""
        refused = self.gate_refuses()
        if refused is not None:
            order.move(OrderStatus.DENIED)
            return OrderResult(OrderStatus.DENIED, message=refused)
        order.move(OrderStatus.SUBMITTED)
        self.orders_sent += 1
        if self.venue.is_live:  # the intent is stored before a live order leaves
            self.stage_order(order)
            await self.journal.flush()
        try:
            result = await self.venue.place_order(order.request())
        except BrokerError as e:
            result = OrderResult(OrderStatus.REJECTED, message=e.message)
        except Exception as e:  # a broker bug must not take the engine down mid-bar
            log.exception("broker %s failed on order %d", self.venue.name, order.order_id)
            result = OrderResult(OrderStatus.UNKNOWN, message=f"{type(e).__name__}: {e}")
        order.apply(result)
        self.stage_order(order)
        if result.status is OrderStatus.UNKNOWN:
            reason = f"order {order.order_id} ({order.instrument_key}) has an unknown outcome at {self.venue.name}"
            self.emit(HftError(error=f"{reason}: {result.message}; halted until reconciled (restart)"))
            self._halt(reason)
        return result

    def gate_refuses(self) -> str | None:
        """The gate's last check before any request to the venue (an order; a stop's place,
        move or cancel): why it refuses (reported; the engine halts), else None."""
        try:
            self.gate.check_order(self.venue.is_live, self.run.safe_mode)
        except LiveTradingRefused as e:
            self.emit(HftError(error=f"{e}; halted"))
            self._halt(str(e))
            return str(e)
        return None

    async def on_stop_ended(self, stop_order_id: int) -> None:
        """The broker says a stop it holds ended (`BrokerStops.ended`): under the lock, then committed."""
        async with self._lock:
            if self.stops is None or self.state is EngineState.STOPPED:
                return
            await self.stops.ended(stop_order_id, self.last_bar[1] if self.last_bar else int(self.clock.now()))
            await self.commit()

    # --- recovery ------------------------------------------------------------------------

    async def reconcile(self) -> bool:
        """Reconciliation during the day (periodic, and after a broker stream reconnects): the
        venue's positions against the open trades, under the engine's lock (never beside a price
        update), each mismatch resolved by the one rule at the latest price. A venue that cannot
        say its positions is reported (`hft.error`) without a halt: the next one retries. False
        when nothing was compared: stopped, or before the first bar (the start-up one is due)."""
        async with self._lock:
            if self.state is EngineState.STOPPED or self.last_bar is None:
                return False
            await self._reconcile(self.latest_price, self.last_bar[1], halt_when_blind=False)
            return True

    def _bar_open(self, bars: BarSet, key: str) -> float | None:
        quote = self.prices.quote_in(bars, key)
        return quote.open if quote is not None else self.prices.price(key)

    def latest_price(self, key: str) -> float | None:
        """The latest tick since the latest bar closed, else that bar's close."""
        tick = self.ticks.get(key)
        if tick is not None and self.last_bar is not None and tick[1] >= self.last_bar[1]:
            return tick[0]
        return self.prices.price(key)

    async def _reconcile(self, price: Callable[[str], float | None], ts: int, *, halt_when_blind: bool) -> None:
        """Compare the open trades with the venue's positions; carry out the plan of
        app.trading.recovery for each mismatch, booked at `ts`."""
        try:
            orders = await self.venue.open_orders() if isinstance(self.venue, OpenOrders) else []
            for order in foreign_orders(orders, self.prices.index):
                await self._cancel_foreign(order)
            if self.stops is not None:
                await self.stops.reconcile(ts)
            positions = await self.venue.positions()
        except BrokerError as e:
            reason = f"cannot reconcile with {self.venue.name}: {e.message}"
            if halt_when_blind:
                self.emit(HftError(error=f"{reason}; halted"))
                self._halt(reason)
            else:
                self.emit(HftError(error=f"{reason}; the next reconciliation retries"))
            await self.commit()
            return
        self.reconciled += 1
        for mismatch in plan(self.book.net(), self.book.open.values(), positions, self.prices.index, price):
            resolution, halt = await self._resolve(mismatch, ts)
            self.emit(HftManageError(error=mismatch.report(self.venue.name, resolution)))
            if halt is not None:
                self._halt(halt)
        await self.commit()

    async def _cancel_foreign(self, order: OpenOrder) -> None:
        """An open order the engine did not place is cancelled; a cancel that fails halts."""
        what = (
            f"reconcile {order.instrument_key}: {self.venue.name} has an open order {order.broker_order_id} "
            f"({order.side} {order.qty}) the engine did not place"
        )
        try:
            await self.venue.cancel_order(order.broker_order_id)
        except BrokerError as e:
            self.emit(HftManageError(error=f"{what}; the cancel failed: {e.message}; halted"))
            self._halt(f"{what}; the cancel failed")
            return
        self.emit(HftManageError(error=f"{what}; cancelled"))

    async def _resolve(self, mismatch: Mismatch, ts: int) -> tuple[str, str | None]:
        """Make the instrument flat on both sides; what was done, and why to halt (when it failed)."""
        key, have, trades, price = mismatch.instrument_key, mismatch.have, mismatch.trades, mismatch.price
        for trade in trades:  # a stop held at the broker goes first (it filled meanwhile: compared again next time)
            released = await self.stops.release(trade, ExitReason.RECONCILE, ts) if self.stops is not None else None
            if released is not None and not released.go:
                return f"not resolved: {released.error or 'the broker stop filled'}", None
        if not mismatch.needs_order:
            for trade in trades:
                self.book_exit(trade, abs(trade.open_qty), price, 0.0, ExitReason.RECONCILE, ts, "the broker held none")
            return f"closed {len(trades)} trade(s) at {price:.2f} without an order (the broker holds none)", None
        await self.risk.rate.acquire()
        trade_id = trades[0].trade_id if trades else None
        order = self.order(trade_id, key, Side.to_close(have), abs(have), Purpose.EXIT, ExitReason.RECONCILE, price, ts)
        result = await self.send(order)
        if result.status is not OrderStatus.FILLED or order.fill_price is None:
            reason = f"reconcile {key}: squaring off {have:+d} at {self.venue.name} {result.status}: {result.message}"
            return f"{result.status}: {result.message}; halted", reason
        charges = order.charges
        for trade in trades:
            note = f"squared off {have:+d} at the broker"
            self.book_exit(trade, abs(trade.open_qty), order.fill_price, charges, ExitReason.RECONCILE, ts, note)
            charges = 0.0
        return f"squared off {have:+d} at {order.fill_price:.2f} and closed {len(trades)} trade(s) there", None

    # --- staging and publishing ------------------------------------------------------------

    def _halt(self, reason: str) -> None:
        """A halt inside a phase (stored and announced with its commit); pending signals are dropped."""
        self.outbox.halt(reason)
        self.signals.clear()

    def emit(self, event: HftEvent) -> None:
        self.outbox.emit(event)

    def stage_trade(self, trade: Trade) -> None:
        self.outbox.stage_trade(trade)

    def stage_order(self, order: Order) -> None:
        self.outbox.stage_order(order)

    async def commit(self) -> None:
        """Store this phase's rows, then publish its events (`Outbox.commit`)."""
        await self.outbox.commit()
        if self.state is not EngineState.RUNNING:
            self.signals.clear()  # the journal failed and the run halted

    # --- views ---------------------------------------------------------------------------

    def day(self) -> str:
        """The exchange day: the latest bar's, else now's."""
        return ist_day(self.last_bar[1] if self.last_bar else self.clock.now())

    def day_pnl(self, day: str) -> float:
        """Realized PnL of trades closed on `day` plus open trades marked at their latest price."""
        return self.book.realized.get(day, 0.0) + self.open_pnl()

    def open_pnl(self) -> float:
        return sum(t.mark(self.prices.price(t.instrument_key) or t.entry) for t in self.book.open.values())

    def snapshot(self) -> EngineSnapshot:
        day = self.day()
        return EngineSnapshot(
            state=self.state,
            halted_reason=self.halted_reason,
            run=self.run,
            venue=self.venue.name,
            venue_connected=self.venue.connected,
            venue_updates=self.venue.order_updates if isinstance(self.venue, StreamReconnects) else None,
            interval=self.interval,
            day=day,
            day_pnl=round(float(self.day_pnl(day)), 2),
            realized_today=round(self.book.realized.get(day, 0.0), 2),
            open_pnl=round(float(self.open_pnl()), 2),
            open_trades=len(self.book.open),
            signals_pending=len(self.signals),
            orders_sent=self.orders_sent,
            denied=dict(self.denied),
            skipped=dict(self.skipped),
            skill=self.skill.public(),
            last_bar_ts=self.last_bar[1] if self.last_bar else None,
            stops="broker" if self.stops is not None else "engine",
        )
