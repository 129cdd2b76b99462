"""Backtest of the trading engine: the same engine as live, over stored candles, on paper.

Per bar, exactly as live: the engine takes the bar (entries for earlier signals, management),
then the predictor core (the live one) makes this bar's predictions and resolutions, built as the
live predictor builds them (app.predictor.events) and handed to the engine through the door the
live bus listener uses (`TradingEngine.on_event`): created first, then resolved. The core runs
the whole history first in its compiled replay (`PredictorCore.replay`, the same kernels as a
step), and the engine's judgement of every prediction (calibration, skill, `Strategy.accepts`),
which depends on the predictions alone, is made over that record whole before the first bar:
each bar then hands in only its accepted predictions, built as events, through the door's second
half (`TradingEngine.on_accepted`; app.trading.judged_replay). What
differs is injected: the paper broker's ledger and the journal are in memory, events go to a
recorder, and the order rate is paced on the bars' clock. Open trades are flattened after the
last bar, so every trade is in the report. The fast path keeps what every trade makes in memory
(`KeptOutbox`: its trades and orders as the objects, its events counted) and writes the rows
once, after the last bar; the reference stores and announces them as live, with the live
`Outbox`.

Speed: the engine is handed only the bars where something can act. After a bar where it is left
`idle` (no open trade, no pending signal) the next bar can only move the prices: it is skipped,
and the prices come from a `PriceTape` (every bar's state computed up front, vectorised) that
jumps to the right bar when the engine is handed one again. Accepted predictions still reach the
engine at every bar (one ends the idleness), and the first bar of a session is handed over
when the desk is to be re-armed there. `reference=True` steps the predictor and hands the
engine every event and every bar with the live `PriceBook` instead: what the tests hold the fast
path to (the same trades, orders, equity, skipped counts and skill records).

After a daily-loss halt (`AfterHalt`): a person would re-arm the desk the next morning, so by
default the halt is lifted at the next session's first bar (`TradingEngine.resume`, which
allows it once the bar's day has begun, and refuses while that day's PnL is beyond the limit:
then the next session tries again); signals of the day before are stale there anyway.
`stay-halted` keeps the engine halted for the rest of the backtest. Every halt is reported.

The run, its report included, holds automatic garbage collection off
(`app.core.heap.deferred_collection`): its objects either live to its end (trades, orders, the
ledger, the report's) or die by reference counting (each bar's events), and collecting them
halfway only scanned the growing heap again and again (a fifth of a year's run over 5
instruments; the report alone, collected, paid ~0.3 s of its ~0.65 s for a full scan of the
run's heap). It makes next to no cyclic garbage: 435 objects found by a collection after a
50-day run with the collector off, and the same peak RSS.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from app.core import heap
from app.events import (
    EventSink,
    HftEntry,
    HftError,
    HftExit,
    HftManageError,
    HftTradeRisk,
    PredictionCreated,
    PredictionResolved,
)
from app.market.bars import BarSet, iter_bar_sets
from app.market.calendar import IST, IST_OFFSET, ObservedCalendar
from app.market.instrument_master.specs import TradingSpec, TradingSpecs
from app.market.intervals import Interval, parse_interval
from app.predictor.backtest import Aligned
from app.predictor.core import Cycle, PredictorCore
from app.predictor.events import ReplayRecord, created_events, outcomes
from app.predictor.models import make_model
from app.trading.brokers.paper import PaperBroker, PaperConfig, PaperState
from app.trading.costs import CostModel
from app.trading.engine import TradingEngine
from app.trading.enums import AfterHalt
from app.trading.errors import EngineStateError
from app.trading.gate import LiveGate
from app.trading.journal import Journal
from app.trading.judged_replay import accepted_events, judge
from app.trading.memory_journal import MemoryJournal
from app.trading.native import Reduced, reduced
from app.trading.orders import Order
from app.trading.outbox import Outbox
from app.trading.performance import Marks, Performance, measure
from app.trading.prices import PriceBook, PriceTape
from app.trading.risk import RiskLimits
from app.trading.state import EngineState, RunSettings
from app.trading.strategy import Strategy, StrategyConfig, ist_day
from app.trading.trades import Trade

REPLAY_BUDGET = 2 << 30
"""Bytes the whole replay's record (and the columns its events are built from) may take: about
REPLAY_BYTES_PER_CELL per bar, instrument and horizon. Beyond it (more than ~13 M of those: 5
instruments x 2 horizons x 14 years of 1-minute bars) the predictor is stepped bar by bar, as
live: the same predictions in memory that does not grow with the run, at the stepped speed."""
REPLAY_BYTES_PER_CELL = 160


class BarClock:
    """The order-rate clock of a backtest: the bars' time; waiting moves it on at once."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance_to(self, ts: float) -> None:
        self._now = max(self._now, ts)

    async def sleep_until(self, ts: float) -> None:
        self.advance_to(ts)
        await asyncio.sleep(0)


class Recorder:
    """The backtest's EventSink: counts what would have been published."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []

    async def publish_many(self, channel: str, events: Sequence[tuple[str, object]]) -> object:
        for type, payload in events:
            self.counts[type] += 1
            if isinstance(payload, HftError | HftManageError):
                self.errors.append(payload.error)
        return None


class KeptOutbox(Outbox):
    """The fast path's outbox: what the live outbox stores and announces for every trade is kept
    in memory instead, its trades and orders as the objects themselves (every change of one is
    staged, so its state at the end is the row the journal would hold last) and `hft.entry`,
    `hft.trade_risk` and `hft.exit` as counts, not built (a fifth of the trade phase went to
    building rows and events no one reads before the report). The rest (the paper ledger's rows,
    the state, errors, flattens) goes as live. `write` stores the kept rows once, at the end.
    The tests hold its journal and counts to the reference run's, which uses the live `Outbox`."""

    def __init__(
        self,
        *,
        journal: Journal,
        sink: EventSink,
        gate: LiveGate,
        run: RunSettings,
        state: EngineState,
        halted_reason: str | None,
        wall: Callable[[], float],
    ) -> None:
        # the arguments named, not passed on as **kwargs: compiled (app.trading.native), a
        # native __init__ does not take them that way
        super().__init__(
            journal=journal, sink=sink, gate=gate, run=run, state=state, halted_reason=halted_reason, wall=wall
        )
        self.trades: dict[int, Trade] = {}
        self.orders: dict[int, Order] = {}
        self.counts: Counter[str] = Counter()

    def stage_trade(self, trade: Trade) -> None:
        self.trades[trade.trade_id] = trade

    def stage_order(self, order: Order) -> None:
        self.orders[order.order_id] = order

    def entered(self, trade: Trade) -> None:
        self.counts[HftEntry.event_type] += 1
        self.risk_moved(trade)

    def risk_moved(self, trade: Trade) -> None:
        self.counts[HftTradeRisk.event_type] += 1

    def exited(self, trade: Trade) -> None:
        self.counts[HftExit.event_type] += 1

    async def write(self) -> None:
        """The kept trades' and orders' rows into the journal, in the order they were first staged."""
        for trade in self.trades.values():
            self.journal.stage("hft_trades", trade.row())
        for order in self.orders.values():
            self.journal.stage("hft_orders", order.row())
        await self.journal.flush()

    def records(self) -> tuple[list[Trade], list[dict[str, Any]]]:
        """The trades, and the orders as the journal would store them, by id (as `records` reads
        them from a journal)."""
        orders = sorted(self.orders.values(), key=lambda o: o.order_id)
        return sorted(self.trades.values(), key=lambda t: t.trade_id), [o.row() for o in orders]


@dataclass(frozen=True, slots=True)
class Halt:
    """One daily-loss halt: its exchange date and time (IST, the bar close it was seen at), the
    reason, the day's PnL then (realized + open, rupees), and the date of the session it was
    lifted at (None: it never was)."""

    date: str
    time: str
    reason: str
    day_pnl: float
    resumed: str | None = None

    def __reduce__(self) -> Reduced:
        return reduced(self)  # pickled by its fields: compiled, a frozen class is not (app.trading.native)


@dataclass(repr=False)
class TradeReport:
    """What the backtest made (`performance`, docs/performance.md), its trades, and what it published."""

    instruments: tuple[str, ...]
    interval: str
    bars: int
    performance: Performance
    trades: list[Trade]
    orders: list[dict[str, Any]]  # as the journal stored them, oldest first
    skipped: dict[str, int] = field(default_factory=dict)  # predictions not traded, by reason (no_skill...)
    skill: list[dict[str, Any]] = field(default_factory=list)  # each pair's skill at the end (SkillBook.public)
    events: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    after_halt: AfterHalt = AfterHalt.RESUME_NEXT_SESSION
    halts: list[Halt] = field(default_factory=list)
    bars_fed: int = 0  # bars (BarSets) the engine was handed; the rest could change nothing
    trade_seconds: float = 0.0  # wall time of the trade phase: the engine, given the predictions
    stepped: bool = False  # the predictor was stepped bar by bar (the reference, or a run beyond the replay's budget)

    def __repr__(self) -> str:
        """A summary. `asyncio.run` formats its task's result when it puts the SIGINT handler
        back (`signal.getsignal` reprs the handler, which holds the task): a dataclass's repr of
        a year's trades and orders was 62 MB of text and 0.8 s, twice per run."""
        return (
            f"TradeReport({', '.join(self.instruments)} {self.interval}: {self.bars} bars, "
            f"{len(self.trades)} trades, {len(self.orders)} orders, {len(self.halts)} daily-loss halts)"
        )

    def public(self) -> dict[str, Any]:
        """The whole report as JSON (`backtest --trade --json`): figures, series and trades."""
        return {
            "instruments": list(self.instruments),
            "interval": self.interval,
            "bars": self.bars,
            "performance": self.performance.public(),
            "trades": [t.public() for t in self.trades],
            "skipped": self.skipped,
            "skill": self.skill,
            "events": self.events,
            "errors": self.errors[:20],
            "after_halt": self.after_halt.value,
            "halts": [{**asdict(h), "day_pnl": round(h.day_pnl, 2)} for h in self.halts],
            "bars_fed": self.bars_fed,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeSetup:
    """Everything a trade backtest runs with but its candles (`run_trade_backtest`'s options);
    `specs`: each instrument's tick and lot, as read from the instrument master."""

    strategy: StrategyConfig
    limits: RiskLimits
    costs: CostModel
    paper: PaperConfig
    horizons: tuple[int, ...] = (1, 5)
    model_kind: str = "ridge"
    calib_halflife: float = 100.0
    vol_span: int = 20
    after_halt: AfterHalt = AfterHalt.RESUME_NEXT_SESSION
    specs: Mapping[str, TradingSpec] | None = None

    async def run(self, data: Aligned, interval: str) -> TradeReport:
        return await run_trade_backtest(
            data,
            parse_interval(interval),
            strategy=self.strategy,
            limits=self.limits,
            costs=self.costs,
            paper=self.paper,
            horizons=self.horizons,
            model_kind=self.model_kind,
            calib_halflife=self.calib_halflife,
            vol_span=self.vol_span,
            specs=TradingSpecs(self.specs),
            after_halt=self.after_halt,
        )

    def __reduce__(self) -> Reduced:
        return reduced(self)  # pickled by its fields: compiled, a frozen class is not (app.trading.native)


async def run_trade_backtest(
    data: Aligned,
    interval: Interval,
    *,
    strategy: StrategyConfig,
    limits: RiskLimits,
    costs: CostModel,
    paper: PaperConfig,
    horizons: Sequence[int] = (1, 5),
    model_kind: str = "ridge",
    calib_halflife: float = 100.0,
    vol_span: int = 20,
    specs: TradingSpecs | None = None,
    after_halt: AfterHalt = AfterHalt.RESUME_NEXT_SESSION,
    reference: bool = False,
    journal: MemoryJournal | None = None,
    replay_budget: int = REPLAY_BUDGET,
) -> TradeReport:
    """Run predictor and engine over the bars of `data`; see the module docstring.
    :param specs: tick and lot per instrument (the instrument master's; default 0.05 and 1).
    :param reference: the live way in every respect (the predictor stepped bar by bar, every bar
        handed to the engine with the live PriceBook), which the tests hold the fast path to.
    :param journal: where the run's orders, trades and paper ledger go, to read after (default: a
        new one, the trades' and orders' rows not written to it: the report takes them as kept).
    :param replay_budget: bytes the replay's record may take; a longer run steps the predictor."""
    specs = specs if specs is not None else TradingSpecs()
    core = PredictorCore(
        data.instruments,
        interval,
        horizons=horizons,
        models=[make_model(model_kind)],
        clock=ObservedCalendar(data.close_ts),
        calib_halflife=calib_halflife,
    )
    wanted = journal is not None  # the caller reads the journal after
    journal = journal if journal is not None else MemoryJournal()
    recorder, clock = Recorder(), BarClock()

    async def fresh() -> PaperState | None:
        return None

    broker = PaperBroker(config=paper, costs=costs, journal=journal, load=fresh, specs=specs)
    await broker.connect()
    prices = (
        PriceBook(data.instruments, span=vol_span)
        if reference
        else PriceTape(data.instruments, data.close_ts, data.ohlcv["close"], span=vol_span)
    )
    engine = TradingEngine(
        instruments=data.instruments,
        interval=interval.name,
        strategy=Strategy(strategy, costs, specs),
        limits=limits,
        venue=broker,
        safe_mode=True,
        gate=LiveGate(False),
        journal=journal,
        sink=recorder,
        clock=clock,
        prices=prices,
        reconcile=False,
        outbox=Outbox if reference else KeptOutbox,
    )
    driver = Driver(engine, clock, after_halt, every_bar=reference)
    close_ts = np.asarray(data.close_ts, dtype=np.int64)
    sessions = (close_ts + IST_OFFSET) // 86_400
    cells = len(close_ts) * len(horizons) * len(data.instruments)  # one model
    stepped = reference or not cells or cells * REPLAY_BYTES_PER_CELL > replay_budget
    with heap.deferred_collection():  # a batch run: see the module docstring
        signals = None if stepped else judged(core, data, close_ts, engine, driver)
        for t, bars in enumerate(iter_bar_sets(interval, data.instruments, data.open_ts, data.close_ts, data.ohlcv)):
            created, resolved = predictions(core, core.step(bars)) if signals is None else (next(signals), [])
            started = time.perf_counter()
            await driver.on_bars(bars, new_session=bool(t > 0 and sessions[t] != sessions[t - 1]))
            if signals is None:
                feed_predictions(engine, created, resolved)
            else:
                for prediction in created:
                    engine.on_accepted(prediction)
            driver.seconds += time.perf_counter() - started
        started = time.perf_counter()
        if len(data.close_ts):
            await engine.flatten(note="end of the backtest")
        kept = engine.outbox if isinstance(engine.outbox, KeptOutbox) else None
        if kept is not None:
            if wanted:
                await kept.write()
            recorder.counts.update(kept.counts)
        driver.seconds += time.perf_counter() - started
        trades, orders = kept.records() if kept is not None else records(journal)
        report = _report(data, interval, trades, orders, recorder, paper.capital, costs)
    report.after_halt, report.halts = after_halt, driver.halts()
    report.bars_fed, report.trade_seconds, report.stepped = driver.fed, driver.seconds, stepped
    report.skipped, report.skill = dict(engine.skipped), engine.skill.public()
    return report


class Driver:
    """Hands the engine the bars where something can act (all of them with `every_bar`), and
    re-arms it at a session's first bar after a daily-loss halt (`AfterHalt.RESUME_NEXT_SESSION`)."""

    def __init__(self, engine: TradingEngine, clock: BarClock, after_halt: AfterHalt, *, every_bar: bool) -> None:
        self.engine = engine
        self.clock = clock
        self.after_halt = after_halt
        self.every_bar = every_bar
        self.fed = 0
        self.seconds = 0.0
        self._previous: BarSet | None = None  # the latest bar, when it was skipped
        self._resumed: dict[int, str] = {}  # index in engine.daily_loss_halts -> the day it was lifted

    async def on_bars(self, bars: BarSet, *, new_session: bool) -> None:
        engine = self.engine
        rearm = new_session and self.after_halt is AfterHalt.RESUME_NEXT_SESSION and self._halted_by_loss()
        if not (self.every_bar or rearm or not engine.idle):
            self._previous = bars
            return
        if self._previous is not None:  # the tape takes the state the skipped bars left
            engine.prices.update(self._previous)
            self._previous = None
        self.clock.advance_to(bars.close_ts)
        await engine.take_bars(bars)  # the engine's only caller here: no lock to take
        self.fed += 1
        if rearm:
            await self._resume(bars)

    def _halted_by_loss(self) -> bool:
        halts = self.engine.daily_loss_halts
        return self.engine.state is EngineState.HALTED and bool(halts) and self.engine.halted_reason == halts[-1].reason

    async def _resume(self, bars: BarSet) -> None:
        try:
            await self.engine.resume()
        except EngineStateError:
            return  # the day's PnL is beyond the limit already (an exit that never filled): next session
        self._resumed[len(self.engine.daily_loss_halts) - 1] = ist_day(bars.close_ts)

    def halts(self) -> list[Halt]:
        return [
            Halt(
                halt.day,
                datetime.fromtimestamp(halt.ts, IST).strftime("%H:%M"),
                halt.reason,
                halt.pnl,
                self._resumed.get(i),
            )
            for i, halt in enumerate(self.engine.daily_loss_halts)
        ]


def judged(
    core: PredictorCore, data: Aligned, close_ts: npt.NDArray[np.int64], engine: TradingEngine, driver: Driver
) -> Iterator[list[PredictionCreated]]:
    """The whole replay, its predictions judged (the engine's work: timed in the trade phase),
    and per bar the accepted ones (app.trading.judged_replay)."""
    record = ReplayRecord(core, core.replay(data.ohlcv["close"], record=True), close_ts, core.next_id)
    started = time.perf_counter()
    accepted = judge(record, engine)
    driver.seconds += time.perf_counter() - started
    return accepted_events(record, accepted)


def predictions(core: PredictorCore, cycle: Cycle) -> tuple[list[PredictionCreated], list[PredictionResolved]]:
    """This bar's `prediction.created` and `prediction.resolved`, as the live predictor publishes them."""
    return created_events(core, cycle), outcomes(core, cycle)[0]


def feed_predictions(
    engine: TradingEngine, created: Sequence[PredictionCreated], resolved: Sequence[PredictionResolved]
) -> None:
    """A bar's predictions into the engine, in the live channel's order: created, then resolved."""
    for event in created:
        engine.on_event(event)
    for outcome in resolved:
        engine.on_event(outcome)


def records(journal: MemoryJournal) -> tuple[list[Trade], list[dict[str, Any]]]:
    """The trades and orders the journal holds, by id."""
    trades = sorted((Trade.from_row(r) for r in journal.rows("hft_trades")), key=lambda t: t.trade_id)
    return trades, sorted(journal.rows("hft_orders"), key=lambda o: int(o["order_id"]))


def _report(
    data: Aligned,
    interval: Interval,
    trades: list[Trade],
    orders: list[dict[str, Any]],
    recorder: Recorder,
    capital: float,
    costs: CostModel,
) -> TradeReport:
    marks = Marks(data.instruments, data.open_ts, data.close_ts, data.ohlcv["close"])
    return TradeReport(
        data.instruments,
        interval.name,
        bars=len(data.close_ts),
        performance=measure(trades, orders, capital=capital, costs=costs, marks=marks),
        trades=trades,
        orders=orders,
        events=dict(recorder.counts),
        errors=recorder.errors,
    )
