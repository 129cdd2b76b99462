"""The trading engine's routes: its status (TradingService.status()), trades, orders, positions.

The status has two shapes: without an engine (stopped) the run's counters are left out, not
null; the status routes answer with `response_model_exclude_unset`, so a key the service did
not give stays out of the answer."""

from __future__ import annotations

from typing import Literal

from app.api.schemas.base import EnumValue, ResponseModel
from app.api.schemas.predictor import SkillOut
from app.events import optional
from app.trading.enums import TradeStatus
from app.trading.state import EngineState


class LimitsOut(ResponseModel):
    """The run's risk limits (rupees; cooldown in exchange seconds)."""

    max_open_trades: int
    risk_per_trade: float
    max_notional_per_trade: float
    max_notional_total: float
    max_daily_loss: float
    max_orders_per_second: int
    cooldown: float


class BrokerKillSwitchOut(ResponseModel):
    """The broker's own kill switch as this server engaged it (POST /api/hft/halt with
    broker_kill_switch); not known after a server restart."""

    engaged: bool
    at: int | None
    segments: list[str]


class EngineStatus(ResponseModel):
    state: EnumValue[EngineState]
    broker: str
    safe_mode: bool
    live_trading_enabled: bool
    halted_reason: str | None
    brokers: list[str]
    limits: LimitsOut
    broker_kill_switch: BrokerKillSwitchOut
    venue: str | None
    venue_connected: bool
    open_trades: int
    # while an engine runs (running or halted) only:
    # where a streaming venue's order outcomes come from: "stream", or "polling (<why>)"; left
    # out where orders end at once (paper)
    venue_updates: optional[str]
    interval: optional[str]
    day: optional[str]
    day_pnl: optional[float]
    realized_today: optional[float]
    open_pnl: optional[float]
    signals_pending: optional[int]
    orders_sent: optional[int]
    denied: optional[dict[str, int]]
    skipped: optional[dict[str, int]]
    skill: optional[list[SkillOut]]
    last_bar_ts: int | None = None
    # where each trade's stop is held: "broker" (SIGNALDESK_HFT_BROKER_STOPS on a live broker)
    # or "engine"; and why the setting is not in effect, when it is on but the venue holds none
    stops: optional[Literal["broker", "engine"]]
    stops_note: optional[str]


class FlattenOut(ResponseModel):
    closed: int
    errors: list[str]


class StoppedEngine(EngineStatus):
    """POST /api/hft/stop: the status after the stop, and what its flatten closed."""

    flatten: FlattenOut


class TradeOut(ResponseModel):
    """A trade. `charges`: the cost model's estimate of its fills; `broker_charges`: the broker's
    own figure of them (a live trade's, once every fill's is known; else null)."""

    trade_id: int
    instrument_key: str
    qty: int
    open_qty: int
    entry: float
    stop: float
    target: float
    status: EnumValue[TradeStatus]
    exit: float | None
    pnl: float | None
    reason: str | None
    entry_ts: int
    exit_ts: int | None
    exit_by: int
    horizon_steps: int
    prediction_id: int | None
    pred_ret_adj: float
    charges: float
    broker_charges: float | None
    gross: float
    venue: str
    day: str
    exit_pending: str | None
    note: str | None


class TradeList(ResponseModel):
    trades: list[TradeOut]


class OrderOut(ResponseModel):
    order_id: int
    trade_id: int | None
    venue: str
    instrument_key: str
    side: str
    qty: int
    purpose: str
    reason: str
    price: float
    ts: int
    status: str
    filled_qty: int
    fill_price: float | None
    charges: float
    broker_charges: float | None
    broker_order_id: str | None
    error: str | None


class OrderList(ResponseModel):
    orders: list[OrderOut]


class PositionOut(ResponseModel):
    instrument_key: str
    qty: int
    avg_price: float
    engine_qty: int


class FundsOut(ResponseModel):
    available: float
    used: float
    realized: float
    charges: float


class PositionsOut(ResponseModel):
    """The venue's positions, each with what the engine expects, and its funds."""

    venue: str
    positions: list[PositionOut]
    funds: FundsOut
