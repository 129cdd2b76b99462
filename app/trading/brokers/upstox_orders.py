"""One engine order at Upstox, as the broker follows it: the order ids one place answered
(`slice: true` may split it into several), each id's latest update, and what they add up to.

An update comes from the portfolio stream (`update_type: "order"`) or, while the stream is
down, from `GET /v2/order/details`; both carry `order_id`, `status`, `filled_quantity`,
`average_price`, `tag` and `status_message`. The order ends when every id has a final status
(complete, rejected, cancelled). Fills are summed and their average price is weighted by quantity;
ids that ended without filling what they were given are named in the result's message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from app.trading.costs import CostModel
from app.trading.enums import OrderStatus
from app.trading.orders import OrderRequest, OrderResult

FINAL = frozenset({"complete", "rejected", "cancelled"})
TAG = "sd-"  # an engine order's tag: TAG + its client order id (reconciliation leaves such orders alone)


def tag_of(client_order_id: int) -> str:
    """The `tag` an engine order carries at Upstox (and comes back with on every update)."""
    return f"{TAG}{client_order_id}"


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """One Upstox order id's state, as an update or the order details answered it."""

    order_id: str
    status: str
    filled: int
    pending: int
    avg_price: float
    tag: str
    message: str

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @classmethod
    def parse(cls, data: Any) -> OrderUpdate:
        """From Upstox's JSON (a stream message or `data` of the order details); ValueError names
        the field that is missing or malformed."""
        if not isinstance(data, dict):
            raise ValueError(f"an order update is not an object: {str(data)[:200]!r}")
        order_id = data.get("order_id")
        if not isinstance(order_id, str | int) or not str(order_id):
            raise ValueError(f"an order update without an order_id: {str(data)[:200]!r}")
        try:
            filled = int(data.get("filled_quantity") or 0)
            pending = int(data.get("pending_quantity") or 0)
            price = float(data.get("average_price") or 0.0)
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"order {order_id}: filled_quantity, pending_quantity or average_price is not a number"
            ) from e
        return cls(
            order_id=str(order_id),
            status=str(data.get("status") or "").lower(),
            filled=filled,
            pending=pending,
            avg_price=price,
            tag=str(data.get("tag") or ""),
            message=str(data.get("status_message") or ""),
        )


class TrackedOrder:
    """An engine order's ids at Upstox and their latest updates; `changed` is set on every update."""

    def __init__(self, request: OrderRequest) -> None:
        self.request = request
        self.tag = tag_of(request.client_order_id)
        self.order_ids: list[str] = []  # from the place answer; updates may come before it
        self.updates: dict[str, OrderUpdate] = {}
        self.changed = asyncio.Event()

    def placed(self, order_ids: list[str]) -> None:
        self.order_ids = order_ids
        self.changed.set()

    def apply(self, update: OrderUpdate) -> None:
        known = self.updates.get(update.order_id)
        if known is not None and known.final:
            return  # a final state does not move (a late duplicate from the stream or a poll)
        self.updates[update.order_id] = update
        self.changed.set()

    @property
    def open_ids(self) -> list[str]:
        """The ids without a final status yet."""
        return [i for i in self.order_ids if not (i in self.updates and self.updates[i].final)]

    @property
    def done(self) -> bool:
        return bool(self.order_ids) and not self.open_ids

    @property
    def filled(self) -> int:
        return sum(self.updates[i].filled for i in self.order_ids if i in self.updates)

    def result(self, costs: CostModel, *, note: str | None = None) -> OrderResult:
        """What the ids add up to: FILLED (all of it), PARTIAL (some), REJECTED (none filled)."""
        updates = [self.updates[i] for i in self.order_ids if i in self.updates]
        filled = sum(u.filled for u in updates)
        price = average_price([(u.filled, u.avg_price) for u in updates if u.filled])
        ended = [u for u in updates if u.final and u.status != "complete"]
        short = [f"order {u.order_id} {u.status}" + (f": {u.message}" if u.message else "") for u in ended]
        if filled >= self.request.qty:
            status = OrderStatus.FILLED
        else:
            status = OrderStatus.PARTIAL if filled else OrderStatus.REJECTED
        parts = [] if status is OrderStatus.FILLED else [f"filled {filled} of {self.request.qty}", *short]
        if note:
            parts.append(note)
        charges = costs.charges(self.request.side, filled, price).total if filled else 0.0
        return OrderResult(status, filled, price, charges, ",".join(self.order_ids), "; ".join(parts) or None)


def average_price(fills: list[tuple[int, float]]) -> float:
    """The average price of (quantity, average price) parts, weighted by quantity, to 4 decimals
    as Upstox gives one (9 x 1839.05 / 9 is 1839.0500000000002 in floating point); 0.0 when
    nothing filled."""
    filled = sum(q for q, _ in fills)
    return round(sum(q * p for q, p in fills) / filled, 4) if filled else 0.0
