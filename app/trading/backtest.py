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
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
from app.trading.prices import PriceBook
from app.trading.risk import RiskLimits
from app.trading.strategy import Strategy, StrategyConfig, ist_day

TRADING_DAYS = 252


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
    """What the backtest made: money after costs, and how it was made (rupees unless said)."""

    instruments: tuple[str, ...]
    interval: str
    bars: int
    days: int
    capital: float
    trades: int = 0
    wins: int = 0
    net_pnl: float = 0.0
    gross_pnl: float = 0.0
    charges: float = 0.0
    max_drawdown: float = 0.0
    sharpe: float | None = None
    exposure: float = 0.0
    by_reason: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # predictions not traded, by reason (no_skill...)
    skill: list[dict[str, Any]] = field(default_factory=list)  # each pair's skill at the end (SkillBook.public)
    events: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.trades if self.trades else None

    @property
    def max_drawdown_pct(self) -> float:
        return 100.0 * self.max_drawdown / self.capital

    def public(self) -> dict[str, Any]:
        return {
            "instruments": list(self.instruments),
            "interval": self.interval,
            "bars": self.bars,
            "days": self.days,
            "capital": self.capital,
            "trades": self.trades,
            "wins": self.wins,
            "win_rate": self.win_rate,
            "net_pnl": round(self.net_pnl, 2),
            "gross_pnl": round(self.gross_pnl, 2),
            "charges": round(self.charges, 2),
            "max_drawdown": round(self.max_drawdown, 2),
            "max_drawdown_pct": round(self.max_drawdown_pct, 3),
            "sharpe": None if self.sharpe is None else round(self.sharpe, 3),
            "exposure": round(self.exposure, 4),
            "by_reason": self.by_reason,
            "skipped": self.skipped,
            "skill": self.skill,
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
    exposed = 0
    bars: BarSet | None = None
    for bars in iter_bar_sets(interval, data.instruments, data.open_ts, data.close_ts, data.ohlcv):
        clock.advance_to(bars.close_ts)
        await engine.on_bars(bars)
        exposed += bool(engine.book.open)
        feed_predictions(engine, core, core.step(bars))
    if bars is not None:
        await engine.flatten(note="end of the backtest")
    report = _report(data, interval, journal, recorder, paper.capital, exposed)
    report.skipped, report.skill = dict(engine.skipped), engine.skill.public()
    return report


def feed_predictions(engine: TradingEngine, core: PredictorCore, cycle: Cycle) -> None:
    """This bar's `prediction.created`, then `prediction.resolved`, as the live channel carries them."""
    for event in created_events(core, cycle):
        engine.on_event(event)
    for resolved in outcomes(core, cycle)[0]:
        engine.on_event(resolved)


def _report(
    data: Aligned, interval: Interval, journal: MemoryJournal, recorder: Recorder, capital: float, exposed: int
) -> TradeReport:
    days = sorted({ist_day(ts) for ts in data.close_ts.tolist()})
    report = TradeReport(
        data.instruments,
        interval.name,
        bars=len(data.close_ts),
        days=len(days),
        capital=capital,
        events=dict(recorder.counts),
        errors=recorder.errors,
    )
    closed = sorted(
        (r for r in journal.rows("hft_trades") if r["status"] == "closed"), key=lambda r: (r["exit_ts"], r["trade_id"])
    )
    pnl = np.array([r["pnl"] for r in closed], dtype=np.float64)
    report.trades = len(closed)
    report.wins = int((pnl > 0).sum())
    report.net_pnl = float(pnl.sum())
    report.gross_pnl = float(sum(r["gross"] for r in closed))
    report.charges = float(sum(r["entry_charges"] + r["exit_charges"] for r in closed))
    report.by_reason = dict(Counter(str(r["exit_reason"]) for r in closed))
    equity = np.concatenate([[0.0], np.cumsum(pnl)])
    report.max_drawdown = float((np.maximum.accumulate(equity) - equity).max())
    report.exposure = exposed / len(data.close_ts) if len(data.close_ts) else 0.0
    by_day = dict.fromkeys(days, 0.0)
    for r in closed:
        by_day[ist_day(r["exit_ts"])] = by_day.get(ist_day(r["exit_ts"]), 0.0) + r["pnl"]
    daily = np.array(list(by_day.values())) / capital
    if len(daily) >= 2 and daily.std(ddof=1) > 0:
        report.sharpe = float(daily.mean() / daily.std(ddof=1) * math.sqrt(TRADING_DAYS))
    return report
