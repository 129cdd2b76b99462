"""The live trading engine: lifecycle, the market feed and the prediction channel wired to it.

`TradingService` owns one `TradingEngine` per run. Price updates come from the MarketFeed
(one BarSet per bar close, on a task of its own; and, from a source with ticks, the latest
trade price of each instrument with an open trade, conflated in `LatestPrices` and taken by a
second task whenever the engine is free); predictions and resolutions from the bus
(`prediction` channel, live only), which is the one message path: the service never reaches
into the predictor. Lifecycle commands are serialised; `halt` is not, so the kill switch never
waits behind anything. The state (running/halted, broker, safe_mode, limits) is journaled, so a
restarted server resumes the engine it had (see `recover`).

While a run is on, the broker is asked every `broker_check_interval` seconds whether it still
answers (`Broker.check`). The first failed check is announced (`hft.error`); from then on the
service reconnects at the same interval, and a reconnect is announced as `hft.broker`. Orders
meanwhile go to the broker as always and fail there (entries rejected, exits retried at the
next bar), so nothing waits on the watch.

Reconciliation runs all day: every `reconcile_interval` seconds and whenever asked
(`request_reconcile`, the hook for a broker stream that reconnected), the engine compares the
broker's positions with its open trades (`TradingEngine.reconcile`). A halt may also engage the
broker's own kill switch (`app.trading.kill_switch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from app.bus.events import Batch
from app.bus.interface import EventBus
from app.bus.subscription import ResumeOutcome, Subscription
from app.events import HftBroker, HftError, decode, publish
from app.market.clock import Clock, WallClock
from app.market.feed import BarSubscription, MarketFeed
from app.market.timestamps import iso
from app.predictor.skill import preload
from app.trading.book import Book
from app.trading.broker_charges import BrokerChargesRecorder
from app.trading.brokers.base import (
    Broker,
    FillCharges,
    Funds,
    KillSwitch,
    Position,
    StreamReconnects,
    holds_stops,
)
from app.trading.brokers.registry import BrokerRegistry
from app.trading.engine import FlattenOutcome, TradingEngine
from app.trading.enums import ExitReason
from app.trading.errors import BrokerError, EngineStateError, NoKillSwitch, TradingError
from app.trading.gate import LiveGate
from app.trading.journal import Journal
from app.trading.kill_switch import BrokerKillSwitch, segments_of
from app.trading.prices import PriceBook
from app.trading.risk import RiskLimits
from app.trading.state import EngineState, RunSettings
from app.trading.store import TradeStore
from app.trading.strategy import Strategy
from app.trading.ticks import LatestPrices

log = logging.getLogger(__name__)

BROKER_CHARGES_DRAIN = 5.0  # seconds a stopping run still fetches the broker's charges of its last fills
PAPER = "paper"
DAY = 86_400


class PredictionListener:
    """The engine's Subscriber on the `prediction` channel: created and resolved, decoded to their
    typed events and handed to `TradingEngine.on_event` (the backtest's door too), in order.

    Right after the fan-out, not inside it: decoding and taking a cycle's 1,000 predictions at
    500 instruments costs ~6 ms, which every subscriber the fan-out reaches after this one (a
    WebSocket, in no set order) would wait for. The batches are taken in the loop's next round;
    on the embedded bus, whose fan-out runs before a publish returns, that is before the
    publisher resumes: what a publish returns from, the engine has taken."""

    def __init__(self, engine: TradingEngine, on_lost: Callable[[], None]) -> None:
        self.engine = engine
        self._on_lost = on_lost
        self._batches: list[Batch] = []

    def ready(self, outcome: ResumeOutcome) -> None:
        pass

    def deliver(self, batch: Batch) -> None:
        self._batches.append(batch)
        if len(self._batches) == 1:
            asyncio.get_running_loop().call_soon(self._take)

    def _take(self) -> None:
        batches, self._batches = self._batches, []
        for batch in batches:
            for event in batch.events:
                if event.type not in ("prediction.created", "prediction.resolved"):
                    continue
                try:
                    self.engine.on_event(decode(event))
                except Exception:  # one odd event must not stop the ones after it
                    log.exception("the trading engine could not take event %d (%s)", event.id, event.type)

    async def drained(self) -> bool:
        return True

    def lost(self) -> None:
        self._on_lost()


def broker_not_answering(broker: str, why: str, interval: float) -> str:
    """The `hft.error` of the broker watch's first failed check (app.notify reads it as a broker alert)."""
    return f"broker {broker} is not answering ({why}); reconnecting every {interval:g} s"


class TradingService:
    """Start, stop, halt, resume and flatten the live engine; recover it after a restart.

    :param limits: the server's risk limits; a start may only tighten them.
    :param clock: paces the order rate (the wall clock).
    :param wall: epoch seconds, for the state row's timestamp.
    :param vol_span, min_vol_bars: the PriceBook's volatility estimate.
    """

    def __init__(
        self,
        *,
        bus: EventBus,
        feed: MarketFeed,
        store: TradeStore,
        journal: Journal,
        brokers: BrokerRegistry,
        gate: LiveGate,
        strategy: Strategy,
        limits: RiskLimits,
        vol_span: int = 20,
        min_vol_bars: int = 5,
        clock: Clock | None = None,
        wall: Callable[[], float] = time.time,
        broker_check_interval: float = 15.0,
        reconcile_interval: float = 60.0,
        broker_stops: bool = False,
    ) -> None:
        self.bus = bus
        self.feed = feed
        self.store = store
        self.journal = journal
        self.brokers = brokers
        self.gate = gate
        self.strategy = strategy
        self.limits = limits
        self.vol_span = vol_span
        self.min_vol_bars = min_vol_bars
        self.clock = clock or WallClock()
        self.wall = wall
        self.broker_check_interval = broker_check_interval
        self.reconcile_interval = reconcile_interval
        self.broker_stops = broker_stops
        self.kill_switch = BrokerKillSwitch()
        self._reconcile_requested = asyncio.Event()
        self.engine: TradingEngine | None = None
        self.run = RunSettings(PAPER, True, limits)  # the latest run's (shown while stopped)
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscription: Subscription | None = None
        self._remove_ticks: Callable[[], None] | None = None
        self.charges_recorder: BrokerChargesRecorder | None = None  # the run's, when its venue has FillCharges

    # --- lifecycle -------------------------------------------------------------------------

    async def start(
        self, broker: str = PAPER, safe_mode: bool = True, limits: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Start a run: the request is checked first (UnknownBroker, LiveTradingRefused, BadLimits),
        then the state (EngineStateError when a run is on, running or halted)."""
        self.brokers.check(broker)
        self.gate.check_safe_mode(safe_mode)
        run_limits = self.limits.tightened(dict(limits or {}))
        async with self._lock:
            if self.engine is not None and self.engine.state is not EngineState.STOPPED:
                state = self.engine.state
                hint = "resume or stop it" if state is EngineState.HALTED else "stop it first"
                raise EngineStateError("start", state.value, hint)
            await self.stand_down()  # a run that stopped but could not stand down (its journal failed)
            await self._start(RunSettings(broker, safe_mode, run_limits), EngineState.RUNNING, None)
        return self.status()

    async def _start(self, run: RunSettings, state: EngineState, halted: str | None) -> None:
        """A run from STOPPED: RUNNING, or HALTED when a restart recovers a halted run."""
        self.brokers.check(run.broker)
        self.gate.check_safe_mode(run.safe_mode)
        interval = self.feed.interval
        if interval is None or not self.feed.instruments:
            raise EngineStateError("start", "stopped", "the market feed has no source: no prices to trade on")
        await self.strategy.specs.refresh(self.feed.instruments)  # ticks and lots: the master as it is now
        preload(self.strategy.config.skill)  # the skill gate's table, in the background
        live = self.gate.venue_for(self.brokers.is_live(run.broker), run.safe_mode)
        venue = self.brokers.create(run.broker if live else PAPER)
        await venue.connect()
        if isinstance(venue, KillSwitch):
            await self._read_kill_switch(venue)
        try:
            engine = await self._engine(venue, run, interval.name, state, halted)
            await engine.start()
        except BaseException:
            await venue.close()
            raise
        self.engine, self.run = engine, run
        if isinstance(venue, StreamReconnects):  # the venue lives as long as this run: no removal needed
            venue.add_reconnect_listener(self.request_reconcile)
        await self._listen(engine)
        prices = LatestPrices(lambda: engine.book.by_instrument)
        self._remove_ticks = self.feed.add_tick_listener(prices.offer)
        self._tasks = [
            asyncio.create_task(self._run(engine, self.feed.subscribe(name="hft")), name="trading-engine"),
            asyncio.create_task(self._follow_ticks(engine, prices), name="trading-ticks"),
            asyncio.create_task(self._watch_broker(venue), name="trading-broker-watch"),
            asyncio.create_task(self._reconcile_all_day(engine), name="trading-reconcile"),
        ]
        self.charges_recorder = None
        if isinstance(venue, FillCharges):  # the venue lives as long as this run: no removal needed
            self.charges_recorder = BrokerChargesRecorder(venue, self.store, settled=engine.settled)
            venue.add_fill_listener(self.charges_recorder.offer)
            await self.charges_recorder.catch_up(venue.name)
            self._tasks.append(asyncio.create_task(self.charges_recorder.run(), name="trading-broker-charges"))
        log.info(
            "trading engine %s: broker %s, venue %s, safe_mode %s, %d open trades",
            state.value,
            run.broker,
            venue.name,
            run.safe_mode,
            len(engine.book.open),
        )

    async def _read_kill_switch(self, venue: KillSwitch) -> None:
        """The broker's kill switch as it stands (it outlives our restarts: Upstox keeps a segment
        disabled for 12 hours), for the status; one that cannot be read is logged, not fatal."""
        try:
            engaged = await venue.kill_switch_engaged()
        except BrokerError as e:
            log.warning("trading: cannot read the broker's kill switch: %s", e.message)
            return
        traded = set(segments_of(self.feed.instruments))
        segments = tuple(segment for segment in engaged if segment in traded)
        if segments:
            log.warning("trading: the broker's kill switch is engaged for %s", ", ".join(segments))
        self.kill_switch = BrokerKillSwitch(bool(segments), self.kill_switch.at if segments else None, segments)

    async def _engine(
        self, venue: Broker, run: RunSettings, interval: str, state: EngineState, halted: str | None
    ) -> TradingEngine:
        next_trade, next_order = await self.store.next_ids()
        book = Book(
            next_trade_id=next_trade,
            next_order_id=next_order,
            realized=await self.store.realized_by_day(int(self.wall()) - 7 * DAY),
        )
        for trade in await self.store.open_trades():
            if trade.instrument_key in book.by_instrument:  # never twice: the second is reconciled away
                trade.note = "a second open trade on this instrument after a restart"
                book.open[trade.trade_id] = trade
            else:
                book.add(trade)
        prices = PriceBook(self.feed.instruments, span=self.vol_span, min_bars=self.min_vol_bars)
        prices.seed(self.feed.recent())
        held = self.broker_stops and holds_stops(venue)
        if self.broker_stops and not held:
            log.info("trading: %s", self._stops_note(venue.name))
        return TradingEngine(
            instruments=self.feed.instruments,
            interval=interval,
            strategy=self.strategy,
            limits=run.limits,
            venue=venue,
            safe_mode=run.safe_mode,
            broker=run.broker,
            gate=self.gate,
            journal=self.journal,
            sink=self.bus,
            clock=self.clock,
            book=book,
            prices=prices,
            state=state,
            halted_reason=halted,
            wall=self.wall,
            broker_stops=held,
            stops=await self.store.working_stops(venue.name) if held else (),
        )

    async def _listen(self, engine: TradingEngine) -> None:
        def lost() -> None:  # a new event log: subscribe again, live
            if self.engine is engine:
                asyncio.get_running_loop().create_task(self._listen(engine))

        self._subscription = await self.bus.subscribe("prediction", PredictionListener(engine, lost))

    async def stop(self) -> dict[str, Any]:
        """Flatten, then stop. When the flatten leaves errors the engine stays HALTED and keeps
        managing what is open (EngineStateError says which)."""
        async with self._lock:
            engine = self._running("stop")
            outcome = await engine.stop()
            if outcome.errors:
                raise EngineStateError(
                    "stop",
                    engine.state.value,
                    f"the flatten left errors, so it stays halted: {'; '.join(outcome.errors)}",
                )
            await self.stand_down()
        return {**self.status(), "flatten": {"closed": outcome.closed, "errors": outcome.errors}}

    async def halt(self, reason: str = "halted by request", *, broker_kill_switch: bool = False) -> dict[str, Any]:
        """The kill switch: no new entries from now; open trades are still managed. With
        `broker_kill_switch` also the backstop (`app.trading.kill_switch`): flatten, then the
        broker's own kill switch; refused up front (NoKillSwitch) when the venue has none,
        EngineStateError when the flatten left a position, BrokerError when the broker refuses."""
        engine = self._running("halt")
        venue = engine.venue
        switch = venue if isinstance(venue, KillSwitch) else None
        if broker_kill_switch and switch is None:
            raise NoKillSwitch(venue.name, engine.run.broker)
        await engine.stop_entries(reason)
        if not broker_kill_switch or switch is None:
            return self.status()
        outcome = await engine.flatten(ExitReason.FLATTEN, note="broker kill switch")
        if outcome.errors:
            raise EngineStateError(
                "engage the broker kill switch",
                engine.state.value,
                f"the flatten left errors, so {venue.name} was not asked: {'; '.join(outcome.errors)}",
            )
        segments = segments_of(self.feed.instruments)
        try:
            await switch.kill_switch(segments)
        except BrokerError as e:
            await self._error(f"the broker kill switch of {venue.name} ({', '.join(segments)}) failed: {e.message}")
            raise
        self.kill_switch = BrokerKillSwitch(True, int(self.wall()), segments)
        log.warning("trading: the kill switch of %s is engaged for %s", venue.name, ", ".join(segments))
        return self.status()

    async def resume(self) -> dict[str, Any]:
        """HALTED -> RUNNING; refused while today's PnL is beyond the daily loss limit."""
        async with self._lock:
            await self._running("resume").resume()
        return self.status()

    async def flatten(self, reason: str | None = None) -> FlattenOutcome:
        """Close every open trade now (the engine keeps running; halt first to stop entries)."""
        engine = self._running("flatten", hint="there is nothing to flatten")
        return await engine.flatten(ExitReason.FLATTEN, note=reason)

    async def recover(self, *, autostart: bool) -> None:
        """At server start: resume the run a previous process left running or halted (its open
        trades are reloaded and reconciled at the first bar); otherwise start on paper in safe mode
        when `autostart`."""
        row = await self.store.engine_row()
        if row is not None and row["state"] in (EngineState.RUNNING, EngineState.HALTED):
            await self._resume_run(row)
        elif autostart:
            try:
                await self.start(PAPER, True)
            except TradingError as e:
                await self._error(f"autostart failed: {e}")

    async def _resume_run(self, row: dict[str, Any]) -> None:
        safe_mode = bool(row["safe_mode"])
        if not safe_mode and not self.gate.live_trading_enabled:
            safe_mode = True
            await self._error("live trading is no longer enabled in the configuration: the engine resumes in safe mode")
        stored = {k: v for k, v in row["limits"].items() if hasattr(self.limits, k)}
        strictest = {k: (max if k == "cooldown" else min)(v, getattr(self.limits, k)) for k, v in stored.items()}
        state = EngineState(row["state"])
        halted = (row["halted_reason"] or "halted") if state is EngineState.HALTED else None
        try:
            async with self._lock:
                await self._start(
                    RunSettings(row["broker"], safe_mode, self.limits.tightened(strictest)), state, halted
                )
        except TradingError as e:
            await self._error(f"could not resume the engine after a restart: {e}")

    async def close(self) -> None:
        """Server shutdown: stop listening without changing the stored state (a restart resumes)."""
        await self.stand_down()
        await self.journal.close()

    async def stand_down(self) -> None:
        """Stop the engine without changing its stored state: at shutdown, and when this process
        stops being the cluster's leader (the next leader's `recover` resumes the run)."""
        engine, self.engine = self.engine, None
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        if self._remove_ticks is not None:
            self._remove_ticks()
            self._remove_ticks = None
        recorder, self.charges_recorder = self.charges_recorder, None
        if recorder is not None:  # the last fills' (a flatten's) charges, before the venue closes
            await recorder.drain(BROKER_CHARGES_DRAIN)
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if engine is not None:
            await engine.close()

    async def _run(self, engine: TradingEngine, subscription: BarSubscription) -> None:
        async with subscription:
            async for bars in subscription:
                try:
                    await engine.on_bars(bars)
                except Exception as e:  # one bad price update must not end the engine
                    log.exception("trading engine failed on the bars closing at %d", bars.close_ts)
                    await self._error(f"price update at {iso(bars.close_ts)} failed: {type(e).__name__}: {e}")

    async def _follow_ticks(self, engine: TradingEngine, prices: LatestPrices) -> None:
        failing = False  # one hft.error per run of failures, not one per tick
        while True:
            await prices.wait()
            try:
                await engine.on_trade_prices(prices.take)
                failing = False
            except Exception as e:
                log.exception("trading engine failed on a tick")
                if not failing:
                    failing = True
                    await self._error(f"price update from a tick failed: {type(e).__name__}: {e}")

    async def _watch_broker(self, venue: Broker) -> None:
        answering = True
        while True:
            await asyncio.sleep(self.broker_check_interval)
            try:
                await (venue.check() if answering else venue.connect())
            except Exception as e:  # a BrokerError; anything else is a broker bug, and the watch goes on
                if answering:
                    answering = False
                    why = e.message if isinstance(e, BrokerError) else f"{type(e).__name__}: {e}"
                    await self._error(broker_not_answering(venue.name, why, self.broker_check_interval))
                continue
            if not answering:
                answering = True
                log.info("trading: broker %s answers again", venue.name)
                await publish(self.bus, HftBroker(broker=venue.name))

    def request_reconcile(self, why: str = "requested") -> None:
        """Reconcile now: the engine compares the broker's positions with its open trades at its
        next free moment. The hook for whatever learns that the broker's view may have moved (a
        broker stream that reconnected: `StreamReconnects` brokers are wired to it at start);
        never waits, a no-op without a run, and requests that come while one is pending are one
        reconciliation."""
        log.info("trading: reconciliation %s", why)
        self._reconcile_requested.set()

    async def _reconcile_all_day(self, engine: TradingEngine) -> None:
        """Every `reconcile_interval` seconds (0: never on a timer) and on every request."""
        self._reconcile_requested.clear()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reconcile_requested.wait(), self.reconcile_interval or None)
            self._reconcile_requested.clear()
            try:
                await engine.reconcile()
            except Exception as e:  # a bug must not end reconciliation for the rest of the day
                log.exception("trading: reconciliation failed")
                await self._error(f"reconciliation failed: {type(e).__name__}: {e}")

    # --- state ----------------------------------------------------------------------------

    def _running(self, action: str, hint: str = "start it first") -> TradingEngine:
        if self.engine is None or self.engine.state is EngineState.STOPPED:
            raise EngineStateError(action, EngineState.STOPPED.value, hint)
        return self.engine

    async def _error(self, text: str) -> None:
        log.error("trading: %s", text)
        await publish(self.bus, HftError(error=text))

    # --- views ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        snapshot = self.engine.snapshot() if self.engine is not None else None
        run = snapshot.run if snapshot is not None else self.run
        out: dict[str, Any] = {
            "state": snapshot.state.value if snapshot is not None else EngineState.STOPPED.value,
            "broker": run.broker,
            "safe_mode": run.safe_mode,
            "live_trading_enabled": self.gate.live_trading_enabled,
            "halted_reason": snapshot.halted_reason if snapshot is not None else None,
            "brokers": list(self.brokers.names),
            "limits": run.limits.public(),
            "broker_kill_switch": self.kill_switch.public(),
        }
        if snapshot is None:
            return {**out, "venue": None, "venue_connected": False, "open_trades": 0}
        return {
            **out,
            "venue": snapshot.venue,
            "venue_connected": snapshot.venue_connected,
            "interval": snapshot.interval,
            "day": snapshot.day,
            "day_pnl": snapshot.day_pnl,
            "realized_today": snapshot.realized_today,
            "open_pnl": snapshot.open_pnl,
            "open_trades": snapshot.open_trades,
            "signals_pending": snapshot.signals_pending,
            "orders_sent": snapshot.orders_sent,
            "denied": dict(snapshot.denied),
            "skipped": dict(snapshot.skipped),
            "skill": snapshot.skill,
            "last_bar_ts": snapshot.last_bar_ts,
            "stops": snapshot.stops,
            **({"venue_updates": snapshot.venue_updates} if snapshot.venue_updates is not None else {}),
            **(
                {"stops_note": self._stops_note(snapshot.venue)}
                if self.broker_stops and snapshot.stops == "engine"
                else {}
            ),
        }

    @staticmethod
    def _stops_note(venue: str) -> str:
        """Why SIGNALDESK_HFT_BROKER_STOPS is not in effect on `venue` (the status and the log say it)."""
        return (
            f"SIGNALDESK_HFT_BROKER_STOPS is on, but the {venue} venue holds no stops: "
            "the engine watches each trade's stop (only a live broker holds them)"
        )

    async def positions(self) -> dict[str, Any]:
        """The venue's positions and funds (the paper ledger as stored when no run is on)."""
        engine = self.engine
        if engine is not None:
            positions = await engine.venue.positions()
            funds = await engine.venue.funds()
            venue = engine.venue.name
            expected = engine.book.net()
        else:
            state = await self.store.paper_state()
            venue, expected = PAPER, {}
            positions = {k: Position(k, q, p) for k, (q, p) in (state.positions if state else {}).items()}
            used = sum(abs(p.qty) * p.avg_price for p in positions.values())
            funds = (
                Funds(state.capital + state.realized - state.charges - used, used, state.realized, state.charges)
                if state
                else Funds(0.0, 0.0)
            )
        return {
            "venue": venue,
            "positions": [
                {
                    "instrument_key": p.instrument_key,
                    "qty": p.qty,
                    "avg_price": p.avg_price,
                    "engine_qty": expected.get(p.instrument_key, 0),
                }
                for p in positions.values()
            ],
            "funds": {
                "available": funds.available,
                "used": funds.used,
                "realized": funds.realized,
                "charges": funds.charges,
            },
        }
