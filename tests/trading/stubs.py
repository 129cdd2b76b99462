"""Factories for trading tests: bars by hand, predictions, an engine on a paper broker in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from app.events import CONTRACT, PredictionCreated, PredictionResolved
from app.market.bars import BarSet
from app.market.calendar import IST
from app.market.clock import ManualClock
from app.market.instrument_master.specs import TradingSpecs
from app.market.intervals import CANONICAL
from app.predictor.skill import SkillConfig
from app.trading.book import Book
from app.trading.brokers.base import Broker
from app.trading.brokers.paper import PaperBroker, PaperConfig, PaperState
from app.trading.costs import CostModel
from app.trading.engine import TradingEngine
from app.trading.gate import LiveGate
from app.trading.memory_journal import MemoryJournal
from app.trading.prices import PriceBook
from app.trading.risk import RiskLimits
from app.trading.strategy import Strategy, StrategyConfig

RELIANCE, TCS, INFY = "NSE_EQ|INE002A01018", "NSE_EQ|INE467B01029", "NSE_EQ|INE009A01021"
KEYS = (RELIANCE, TCS, INFY)
MINUTE = CANONICAL["1m"]
DAY_OPEN = int(datetime(2025, 11, 25, 9, 15, tzinfo=IST).timestamp())  # a Tuesday session


def at(hh: int, mm: int, day: int = 25) -> int:
    return int(datetime(2025, 11, day, hh, mm, tzinfo=IST).timestamp())


Ohlc = tuple[float, float, float, float]


def bar_set(open_ts: int, bars: dict[str, float | Ohlc], instruments: Sequence[str] = KEYS) -> BarSet:
    """A BarSet opening at `open_ts`; a float is a flat bar at that price; missing keys have no bar."""
    cols = np.full((4, len(instruments)), np.nan)
    for i, key in enumerate(instruments):
        value = bars.get(key)
        if value is not None:
            cols[:, i] = (value,) * 4 if isinstance(value, float | int) else value
    volume = np.where(np.isfinite(cols[3]), 1000.0, np.nan)
    return BarSet(MINUTE, open_ts, open_ts + 60, tuple(instruments), cols[0], cols[1], cols[2], cols[3], volume)


class RecordingSink:
    """An EventSink that keeps what it is given (as JSON payloads): typed events of the contract."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def publish_many(self, channel: str, events: Sequence[tuple[str, object]]) -> object:
        assert channel == "hft"
        for type, payload in events:
            assert isinstance(payload, CONTRACT["hft"][type]), (type, payload)
            self.events.append((type, payload.model_dump(mode="json")))
        return None

    def of(self, type: str) -> list[dict[str, Any]]:
        return [p for t, p in self.events if t == type]

    def types(self) -> list[str]:
        return [t for t, _ in self.events]


def prediction(key: str, adj: float, *, ts_pred: int, h: int = 5, id: int = 1, interval: str = "1m") -> dict[str, Any]:
    return {
        "id": id,
        "instrument_key": key,
        "interval": interval,
        "horizon_steps": h,
        "ts_pred": ts_pred,
        "ts_target": ts_pred + 60 * h,
        "pred_ret": adj,
        "pred_ret_adj": adj,
        "calib_bias": 0.0,
        "model_kind": "ridge",
    }


def resolution(key: str, *, h: int = 5, n: int = 100, hit_rate: float = 0.6) -> dict[str, Any]:
    return {
        "id": 0,
        "instrument_key": key,
        "interval": "1m",
        "horizon_steps": h,
        "ts_pred": 0,
        "ts_target": 0,
        "actual_ret": 0.0,
        "pred_ret_adj": 0.0,
        "error": 0.0,
        "calibration": {"n": n, "bias": 0.0, "mae": 0.001, "rmse": 0.001, "hit_rate": hit_rate},
    }


NO_SKILL_GATE = SkillConfig(gate=False)  # for the engine's mechanics; the gate's own tests turn it on
STRATEGY = StrategyConfig(
    cost_multiple=1.0, stop_vol=1.5, target_vol=2.0, trail_vol=0.0, slippage_bps=0.0, skill=NO_SKILL_GATE
)
LIMITS = RiskLimits(
    max_open_trades=3,
    risk_per_trade=1000.0,
    max_notional_per_trade=500_000.0,
    max_notional_total=1_200_000.0,
    max_daily_loss=50_000.0,
    cooldown=300.0,
)


@dataclass
class Desk:
    """An engine on a paper broker, a memory journal and a recording sink, on a manual clock."""

    engine: TradingEngine
    paper: PaperBroker
    journal: MemoryJournal
    sink: RecordingSink
    clock: ManualClock
    now: int = DAY_OPEN

    async def bar(
        self, bars: dict[str, float | Ohlc], *, open_ts: int | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """Feed one bar (the next minute unless `open_ts`); the events it produced."""
        if open_ts is not None:
            self.now = open_ts
        before = len(self.sink.events)
        await self.engine.on_bars(bar_set(self.now, bars, self.engine.prices.instruments))
        self.now += 60
        return self.sink.events[before:]

    async def warm(self, prices: dict[str, float], bars: int = 6) -> None:
        """Bars with small moves so every instrument has a volatility (about 10 bps a bar)."""
        for k in range(bars):
            await self.bar({key: p * (1.001 if k % 2 else 1.0) for key, p in prices.items()})

    def predict(self, key: str, adj: float, *, h: int = 5, id: int = 1, ts_pred: int | None = None) -> None:
        payload = prediction(key, adj, ts_pred=self.now if ts_pred is None else ts_pred, h=h, id=id)
        self.engine.on_event(PredictionCreated.model_validate(payload))

    def calibrate(self, key: str, *, h: int = 5, n: int = 100, hit_rate: float = 0.6) -> None:
        self.engine.on_event(PredictionResolved.model_validate(resolution(key, h=h, n=n, hit_rate=hit_rate)))


async def make_desk(
    *,
    strategy: StrategyConfig = STRATEGY,
    limits: RiskLimits = LIMITS,
    paper: PaperConfig | None = None,
    venue: Broker | None = None,
    safe_mode: bool = True,
    live_enabled: bool = False,
    book: Book | None = None,
    state: PaperState | None = None,
    instruments: tuple[str, ...] = KEYS,
    specs: TradingSpecs | None = None,
) -> Desk:
    journal = MemoryJournal()
    sink = RecordingSink()
    clock = ManualClock(1_000.0)

    async def load() -> PaperState | None:
        return state

    broker = PaperBroker(
        config=paper or PaperConfig(slippage_bps=0.0), costs=CostModel(), journal=journal, load=load, specs=specs
    )
    await broker.connect()
    desk_venue = venue or broker
    engine = TradingEngine(
        instruments=instruments,
        interval="1m",
        strategy=Strategy(strategy, CostModel(), specs),
        limits=limits,
        venue=desk_venue,
        safe_mode=safe_mode,
        gate=LiveGate(live_enabled),
        journal=journal,
        sink=sink,
        clock=clock,
        book=book,
        prices=PriceBook(instruments, span=20, min_bars=5),
    )
    return Desk(engine, broker, journal, sink, clock)
