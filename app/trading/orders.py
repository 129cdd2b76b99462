"""Orders: the commands the engine sends a broker, their lifecycle, and what comes back.

Lifecycle (explicit, checked): NEW -> SUBMITTED -> FILLED | PARTIAL | REJECTED | UNKNOWN, or
NEW -> DENIED when the risk gate refuses it before any broker sees it. Every market order is
immediate-or-cancel: PARTIAL means part was filled and the rest cancelled. UNKNOWN means the
broker did not say (a timeout): the position is reconciled from the broker's positions.

A stop held at the broker (`Purpose.STOP`, `app.trading.broker_stops`) stays SUBMITTED while it
works there (its `price` is the trigger); it ends FILLED or PARTIAL when it fills, CANCELLED when
the engine (or the broker) cancelled it with nothing filled.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from app.trading.enums import OrderStatus, Purpose, Side
from app.trading.errors import IllegalTransition
from app.trading.native import Reduced, reduced

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset({OrderStatus.SUBMITTED, OrderStatus.DENIED}),
    OrderStatus.SUBMITTED: frozenset(
        {OrderStatus.FILLED, OrderStatus.PARTIAL, OrderStatus.REJECTED, OrderStatus.UNKNOWN, OrderStatus.CANCELLED}
    ),
    OrderStatus.DENIED: frozenset(),
    OrderStatus.FILLED: frozenset(),
    OrderStatus.PARTIAL: frozenset(),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.UNKNOWN: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A market order as a broker receives it.

    :param client_order_id: the engine's id (also the broker's tag), unique across restarts.
    :param qty: shares, > 0; `side` says the direction.
    :param price: the market price when the order was decided: the paper broker fills at it
        (plus slippage); a live broker sends a market order and reports its own fill.
    :param ts: exchange time of that price (UTC epoch seconds).
    """

    client_order_id: int
    instrument_key: str
    side: Side
    qty: int
    price: float
    ts: int

    def __init__(self, client_order_id: int, instrument_key: str, side: Side, qty: int, price: float, ts: int) -> None:
        # written out, as the other classes built per order: compiled, the __init__ dataclasses
        # generates runs interpreted (app.trading.native)
        object.__setattr__(self, "client_order_id", client_order_id)
        object.__setattr__(self, "instrument_key", instrument_key)
        object.__setattr__(self, "side", side)
        object.__setattr__(self, "qty", qty)
        object.__setattr__(self, "price", price)
        object.__setattr__(self, "ts", ts)

    def __reduce__(self) -> Reduced:
        return reduced(self)  # pickled by its fields: compiled, a frozen class is not (app.trading.native)


@dataclass(frozen=True, slots=True)
class OrderResult:
    """What a broker answered. `filled_qty` may be below the requested qty (PARTIAL)."""

    status: OrderStatus
    filled_qty: int = 0
    avg_price: float = 0.0
    charges: float = 0.0
    broker_order_id: str | None = None
    message: str | None = None

    def __init__(
        self,
        status: OrderStatus,
        filled_qty: int = 0,
        avg_price: float = 0.0,
        charges: float = 0.0,
        broker_order_id: str | None = None,
        message: str | None = None,
    ) -> None:
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "filled_qty", filled_qty)
        object.__setattr__(self, "avg_price", avg_price)
        object.__setattr__(self, "charges", charges)
        object.__setattr__(self, "broker_order_id", broker_order_id)
        object.__setattr__(self, "message", message)

    def __reduce__(self) -> Reduced:
        return reduced(self)  # pickled by its fields: compiled, a frozen class is not (app.trading.native)


@dataclass(slots=True)
class Order:
    """One order of the engine: what it asked for and what became of it."""

    order_id: int
    trade_id: int
    venue: str
    instrument_key: str
    side: Side
    qty: int
    purpose: Purpose
    reason: str
    price: float
    ts: int
    status: OrderStatus = OrderStatus.NEW
    filled_qty: int = 0
    fill_price: float | None = None
    charges: float = 0.0
    broker_order_id: str | None = None
    error: str | None = None

    def __init__(
        self,
        order_id: int,
        trade_id: int,
        venue: str,
        instrument_key: str,
        side: Side,
        qty: int,
        purpose: Purpose,
        reason: str,
        price: float,
        ts: int,
        status: OrderStatus = OrderStatus.NEW,
        filled_qty: int = 0,
        fill_price: float | None = None,
        charges: float = 0.0,
        broker_order_id: str | None = None,
        error: str | None = None,
    ) -> None:
        self.order_id = order_id
        self.trade_id = trade_id
        self.venue = venue
        self.instrument_key = instrument_key
        self.side = side
        self.qty = qty
        self.purpose = purpose
        self.reason = reason
        self.price = price
        self.ts = ts
        self.status = status
        self.filled_qty = filled_qty
        self.fill_price = fill_price
        self.charges = charges
        self.broker_order_id = broker_order_id
        self.error = error

    def move(self, target: OrderStatus) -> None:
        if target not in TRANSITIONS[self.status]:
            raise IllegalTransition(f"order {self.order_id}", self.status.value, target.value)
        self.status = target

    def request(self) -> OrderRequest:
        return OrderRequest(self.order_id, self.instrument_key, self.side, self.qty, self.price, self.ts)

    def apply(self, result: OrderResult) -> None:
        """Record the broker's answer (moves SUBMITTED to the answer's status)."""
        self.move(result.status)
        self.filled_qty = result.filled_qty
        self.fill_price = result.avg_price if result.filled_qty else None
        self.charges = result.charges
        self.broker_order_id = result.broker_order_id
        self.error = result.message

    @classmethod
    def from_row(cls, row: dict[str, object]) -> Order:
        """An order as `row` stored it (the columns `row()` writes; others are ignored)."""
        fields = {f.name: row[f.name] for f in dataclasses.fields(cls)}
        fields["side"] = Side(str(fields["side"]))
        fields["purpose"] = Purpose(str(fields["purpose"]))
        fields["status"] = OrderStatus(str(fields["status"]))
        return cls(**fields)  # type: ignore[arg-type]

    def row(self) -> dict[str, object]:
        """The order as the journal stores it (`trade_id` None for an order of no trade: a
        reconciliation's square-off of a position no trade holds)."""
        return {
            "order_id": self.order_id,
            "trade_id": self.trade_id or None,
            "venue": self.venue,
            "instrument_key": self.instrument_key,
            "side": self.side.value,
            "qty": self.qty,
            "purpose": self.purpose.value,
            "reason": self.reason,
            "price": self.price,
            "ts": self.ts,
            "status": self.status.value,
            "filled_qty": self.filled_qty,
            "fill_price": self.fill_price,
            "charges": self.charges,
            "broker_order_id": self.broker_order_id,
            "error": self.error,
        }
