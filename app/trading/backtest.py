"""Backtest of the trading engine: the same engine as live, over stored candles, on paper.

Per bar, exactly as live: the engine takes the bar (entries for earlier signals, management),
then the predictor core (the live one) makes this bar's predictions and resolutions, built as the
live predictor builds them (app.predictor.events) and handed to the engine through the door the
live bus listener uses (`TradingEngine.on_event`): created first, then resolved. What
differs is injected: the paper broker's ledger and the journal are in memory, events go to a
recorder, and the order rate is paced on the bars' clock. Open trades are flattened after the
last bar, so every trade is in the report.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.events import HftError, HftManageError
from app.market.bars import BarSet, iter_bar_sets
from app.market.calendar import ObservedCalendar
from app.market.instrument_master.specs import TradingSpecs
from app.market.intervals import Interval
from app.predictor.backtest import Aligned
from app.predictor.core import Cycle, PredictorCore
from app.predictor.events import created_events, outcomes
from app.predictor.models import make_model
from app.trading.brokers.paper import PaperBroker, PaperConfig, PaperState
from app.trading.costs import CostModel
from app.trading.engine import TradingEngine
from app.trading.gate import LiveGate
from app.trading.journal import MemoryJournal
from app.trading.performance import Marks, Performance, measure
from app.trading.prices import PriceBook
from app.trading.risk import RiskLimits
from app.trading.strategy import Strategy, StrategyConfig
from app.trading.trades import Trade


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


@dataclass
class TradeReport:
    """What the backtest made (`performance`, docs/performance.md), its trades, and what it published."""

    instruments: tuple[str, ...]
    interval: str
    bars: int
    performance: Performance
    trades: list[Trade]
    orders: list[dict[str, Any]]  # as the journal stored them, oldest first
    events: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """The whole report as JSON (`backtest --trade --json`): figures, series and trades."""
        return {
            "instruments": list(self.instruments),
            "interval": self.interval,
            "bars": self.bars,
            "performance": self.performance.public(),
            "trades": [t.public() for t in self.trades],
            "events": self.events,
            "errors": self.errors[:20],
        }


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
) -> TradeReport:
    """Step predictor and engine over every bar of `data`; see the module docstring.
    :param specs: tick and lot per instrument (the instrument master's; default 0.05 and 1)."""
    specs = specs if specs is not None else TradingSpecs()
    core = PredictorCore(
        data.instruments,
        interval,
        horizons=horizons,
        models=[make_model(model_kind)],
        clock=ObservedCalendar(data.close_ts),
        calib_halflife=calib_halflife,
    )
    journal, recorder, clock = MemoryJournal(), Recorder(), BarClock()

    async def fresh() -> PaperState | None:
        return None

    broker = PaperBroker(config=paper, costs=costs, journal=journal, load=fresh, specs=specs)
    await broker.connect()
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
        prices=PriceBook(data.instruments, span=vol_span),
        reconcile=False,
    )
    bars: BarSet | None = None
    for bars in iter_bar_sets(interval, data.instruments, data.open_ts, data.close_ts, data.ohlcv):
        clock.advance_to(bars.close_ts)
        await engine.on_bars(bars)
        feed_predictions(engine, core, core.step(bars))
    if bars is not None:
        await engine.flatten(note="end of the backtest")
    return _report(data, interval, journal, recorder, paper.capital, costs)


def feed_predictions(engine: TradingEngine, core: PredictorCore, cycle: Cycle) -> None:
    """This bar's `prediction.created`, then `prediction.resolved`, as the live channel carries them."""
    for event in created_events(core, cycle):
        engine.on_event(event)
    for resolved in outcomes(core, cycle)[0]:
        engine.on_event(resolved)


def _report(
    data: Aligned, interval: Interval, journal: MemoryJournal, recorder: Recorder, capital: float, costs: CostModel
) -> TradeReport:
    trades = sorted((Trade.from_row(r) for r in journal.rows("hft_trades")), key=lambda t: t.trade_id)
    orders = sorted(journal.rows("hft_orders"), key=lambda o: int(o["order_id"]))
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
