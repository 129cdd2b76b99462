"""The one interface every broker implements, and the values it answers with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeGuard, runtime_checkable

from app.trading.enums import Side
from app.trading.orders import OrderRequest, OrderResult


@dataclass(frozen=True, slots=True)
class Position:
    """A broker's net position in one instrument: signed shares (negative: short), average price."""

    instrument_key: str
    qty: int
    avg_price: float


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An order working at a broker: `qty` shares still pending; `client_order_id` is the
    engine's order id when the engine placed it (read from the order's tag), else None."""

    broker_order_id: str
    instrument_key: str
    side: Side
    qty: int
    client_order_id: int | None


@dataclass(frozen=True, slots=True)
class Funds:
    """Money at the broker, rupees. `available`: what new positions may use."""

    available: float
    used: float
    realized: float = 0.0
    charges: float = 0.0


class Broker(Protocol):
    """Where orders go. `is_live` brokers move real money: only the two-key gate lets orders reach them."""

    @property
    def name(self) -> str: ...

    @property
    def is_live(self) -> bool: ...

    @property
    def connected(self) -> bool: ...

    async def connect(self) -> None:
        """Open the session (and load state); raises BrokerError when the broker cannot be reached."""
        ...

    async def close(self) -> None: ...

    async def check(self) -> None:
        """Ask the broker whether the session still answers (a cheap call); raises BrokerError
        when it does not, and `connected` is False from then until `connect` succeeds."""
        ...

    async def place_order(self, request: OrderRequest) -> OrderResult:
        """Send a market order; answer once it is filled, partly filled, rejected, or unknown."""
        ...

    async def cancel_order(self, broker_order_id: str) -> None: ...

    async def positions(self) -> dict[str, Position]:
        """Open (non-zero) intraday positions by instrument key."""
        ...

    async def funds(self) -> Funds: ...


@dataclass(frozen=True, slots=True)
class Fill:
    """What one live order filled, as its broker reported it: `client_order_id` is the engine's
    order id, `qty` the shares filled (> 0) at the average price `avg_price`."""

    client_order_id: int
    instrument_key: str
    side: Side
    qty: int
    avg_price: float


@runtime_checkable
class FillCharges(Protocol):
    """A broker that says what a fill cost by its own figures (`app.trading.broker_charges`
    stores them beside the cost model's estimate); the paper broker has none."""

    def add_fill_listener(self, listener: Callable[[Fill], None]) -> Callable[[], None]:
        """Call `listener(fill)` on the event loop for each order that filled some shares, as
        the order is answered; returns the function that removes it."""
        ...

    async def fill_charges(self, fill: Fill) -> float:
        """The broker's charges of `fill`, rupees; raises BrokerError (a refusal, no answer, or
        an answer without a readable figure)."""
        ...


@runtime_checkable
class KillSwitch(Protocol):
    """A broker with a kill switch of its own (`app.trading.kill_switch`); the paper broker has none."""

    async def kill_switch(self, segments: Sequence[str]) -> None:
        """Stop all trading at the broker in `segments` (exchange segments such as NSE_EQ);
        raises BrokerError when the broker refuses or does not confirm every segment."""
        ...

    async def kill_switch_engaged(self) -> tuple[str, ...]:
        """The segments whose kill switch is engaged at the broker now (BrokerError when it cannot say)."""
        ...


@runtime_checkable
class OpenOrders(Protocol):
    """A broker that lists the orders working there (reconciliation compares them too); the
    paper broker has none: its orders fill or are cancelled at once."""

    async def open_orders(self) -> list[OpenOrder]:
        """Every order not yet complete, rejected or cancelled; raises BrokerError."""
        ...


@runtime_checkable
class StreamReconnects(Protocol):
    """A broker with a stream of its own (Upstox's portfolio stream) that misses what happens
    while it is down: the service reconciles each time it is connected again."""

    def add_reconnect_listener(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call `listener(why)` on the event loop each time the stream is connected again
        (not the first time); returns the function that removes it."""
        ...

    @property
    def order_updates(self) -> str:
        """Where order outcomes come from now: "stream", or "polling (<why>)" while it is down."""
        ...


@runtime_checkable
class StopOrders(Protocol):
    """A broker that holds the engine's stop-loss orders (Upstox: SL-M), so a position keeps its
    protection while the server is down (`app.trading.broker_stops`); the paper broker has none.
    A stop is an `OrderRequest` whose `price` is its trigger; every call raises BrokerError."""

    async def place_stop(self, request: OrderRequest) -> str:
        """Place the stop (it rests until the market reaches the trigger); its broker order id."""
        ...

    async def move_stop(self, broker_order_id: str, request: OrderRequest) -> None:
        """Move the working stop's trigger (and quantity) to `request`'s."""
        ...

    async def cancel_stop(self, broker_order_id: str, request: OrderRequest) -> OrderResult:
        """Cancel the stop and wait for its final status: CANCELLED (nothing filled), FILLED or
        PARTIAL (it filled before the cancel: its fill), UNKNOWN (no final status in time)."""
        ...

    async def stop_state(self, broker_order_id: str, request: OrderRequest) -> OrderResult | None:
        """The stop as the broker has it now: None while it works, else how it ended (as `cancel_stop`)."""
        ...

    def add_stop_listener(self, listener: Callable[[int], None]) -> Callable[[], None]:
        """Call `listener(client_order_id)` on the event loop when an engine order nobody waits
        on (a stop) reaches a final status at the broker; returns the function that removes it."""
        ...


def holds_stops(venue: Broker) -> TypeGuard[StopOrders]:
    """Whether `venue` holds the engine's stops (SIGNALDESK_HFT_BROKER_STOPS): a live broker
    that can; on any other the engine watches them itself."""
    return venue.is_live and isinstance(venue, StopOrders)
