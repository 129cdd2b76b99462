"""The `hft` channel: the trading engine's lifecycle, trades and errors."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from app.events.payload import Event


class HftEvent(Event):
    channel: ClassVar[str] = "hft"
    client_publishable: ClassVar[bool] = False  # only the trading engine speaks on hft


class HftStart(HftEvent):
    event_type: ClassVar[str] = "hft.start"

    broker: str
    safe_mode: bool
    live_trading_enabled: bool


class HftStop(HftEvent):
    event_type: ClassVar[str] = "hft.stop"


class HftBroker(HftEvent):
    event_type: ClassVar[str] = "hft.broker"

    broker: str


class HftError(HftEvent):
    event_type: ClassVar[str] = "hft.error"

    error: str


class HftFlatten(HftEvent):
    event_type: ClassVar[str] = "hft.flatten"

    closed: Annotated[int, Field(ge=0)]
    errors: list[str]


class HftEntry(HftEvent):
    event_type: ClassVar[str] = "hft.entry"

    trade_id: int
    instrument_key: str
    qty: Annotated[int, Field(description="shares; positive for a long, negative for a short")]
    entry: float


class HftExit(HftEvent):
    event_type: ClassVar[str] = "hft.exit"

    trade_id: int
    instrument_key: str
    price: float
    pnl: float
    reason: str


class HftTradeRisk(HftEvent):
    event_type: ClassVar[str] = "hft.trade_risk"

    trade_id: int
    stop: float
    target: float


class HftManageError(HftEvent):
    event_type: ClassVar[str] = "hft.manage_error"

    error: str


EngineStateName = Literal["stopped", "running", "halted"]


class HftState(HftEvent):
    """The engine's state after every transition (signaldesk extension): a client follows it
    instead of asking `GET /api/hft/status` again."""

    event_type: ClassVar[str] = "hft.state"

    state: EngineStateName
    halted_reason: Annotated[str | None, Field(description="why it is halted; null unless halted")]
    safe_mode: bool
    live_trading_enabled: bool
    broker: str
