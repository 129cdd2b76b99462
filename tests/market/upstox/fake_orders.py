"""The fake Upstox's order desk: what the order endpoints answer, what the exchange then does
with each order (scripted per place by the test), the order details, positions and funds, and
the order updates the portfolio stream carries.

The test scripts the next places with `script(Outcome(...), ...)`; unscripted places fill at
`price`. An outcome's order may be sliced into several order ids (`slices`). Every order id
gets an `open` update (accepted), then what the outcome says: `fill` (complete), `reject`
(rejected after the accept, with `message`), `partial_then_rest` (a partial fill, then the rest
at a higher price), `partial_then_cancel` (a partial fill, then cancelled by the exchange),
`hold` (stays open until the test or a cancel moves it: `complete`, `cancel`), `refuse` (the
place itself answers 400 with Upstox's error body, nothing is placed), `server_error` (the place
answers 500: nothing placed here, but the client cannot know that).

Slice `i` (0, 1, ...) fills at `price + i`, so a quantity-weighted average is visible.

A stop-loss order (`order_type: "SL-M"`, never scripted) rests as Upstox shows it, `trigger
pending`, until the test moves the market through its trigger (`trigger_stops(price)`: it fills
at that price); it can be modified (its `trigger_price`) and cancelled. `late_cancels` plays the
race: a cancel of a resting stop is answered success, but the exchange had filled it meanwhile
(the update says `complete`, at its trigger). `lose_stop_answers`: a stop's place rests the stop
but answers 500, as when Upstox placed it and the answer was lost.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["fill", "reject", "partial_then_rest", "partial_then_cancel", "hold", "refuse", "server_error"]
Json = dict[str, Any]
TRIGGER_PENDING = "trigger pending"  # Upstox's status of a stop-loss order waiting for its trigger
WORKING = frozenset({"open", TRIGGER_PENDING})


def error_body(code: str, message: str) -> str:
    return json.dumps({"status": "error", "errors": [{"errorCode": code, "message": message}]})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the exchange does with one place request."""

    kind: Kind = "fill"
    slices: int = 1
    message: str = ""
    slice_kinds: tuple[Kind, ...] = ()  # a kind per slice (overrides `kind` and `slices`)


class OrderDesk:
    """Orders, their updates and positions; `publish` sends an update to the portfolio stream."""

    def __init__(self, send: Callable[[Json], None], price: float = 2900.0) -> None:
        self._send = send
        self.price = price
        self.orders: dict[str, Json] = {}  # order id -> its details, as GET /v2/order/details answers
        self.places: list[Json] = []  # every place body
        self.updates: list[Json] = []  # every order update published (connected or not)
        self.refuse_cancels = False  # answer every cancel with Upstox's error
        self.late_cancels = False  # a cancel of a resting stop comes too late: it fills (answered success)
        self.lose_stop_answers = False  # a stop's place rests the stop but answers 500 (the client cannot tell)
        self._script: list[Outcome] = []
        self._ids = itertools.count(250_101_000_000_001)

    def publish(self, update: Json) -> None:
        """An order update on the portfolio stream (lost when no stream is connected, as at Upstox)."""
        self.updates.append(update)
        self._send(update)

    def script(self, *outcomes: Outcome) -> None:
        """The outcomes of the next places, in order."""
        self._script.extend(outcomes)

    # --- the endpoints ---------------------------------------------------------------------

    def place(self, body: Json) -> tuple[int, str, list[Json]]:
        """`POST /v3/order/place`: (status, body, the updates to publish after the answer)."""
        self.places.append(body)
        if body.get("order_type") == "SL-M":
            status, answer, later = self._rest(body)
            if self.lose_stop_answers:
                return 500, error_body("UDAPI100500", "Something went wrong"), later
            return status, answer, later
        outcome = self._script.pop(0) if self._script else Outcome()
        if outcome.kind == "refuse":
            return 400, error_body("UDAPI100500", outcome.message or "Insufficient funds"), []
        if outcome.kind == "server_error":
            return 500, error_body("UDAPI100500", "Something went wrong"), []
        qty = int(body["quantity"])
        n = len(outcome.slice_kinds) or max(1, outcome.slices)
        sizes = [qty // n + (1 if i < qty % n else 0) for i in range(n)]
        ids, later = [], []
        for i, size in enumerate(sizes):
            order_id = self._new(body, size)
            ids.append(order_id)
            later.append(self._snapshot(order_id))
            kind = outcome.slice_kinds[i] if outcome.slice_kinds else outcome.kind
            later.extend(self._run(order_id, kind, outcome.message, self.price + i))
        answer = {"status": "success", "data": {"order_ids": ids}, "metadata": {"latency": 12}}
        return 200, json.dumps(answer), later

    def cancel(self, order_id: str) -> tuple[int, str, list[Json]]:
        """`DELETE /v3/order/cancel?order_id=`: an open order is cancelled; an ended one is refused
        (and every one while `refuse_cancels` is set)."""
        order = self.orders.get(order_id)
        if self.refuse_cancels:
            return 400, error_body("UDAPI100500", "Something went wrong"), []
        if order is None:
            return 400, error_body("UDAPI100010", "Order not found"), []
        if order["status"] not in WORKING:
            return 400, error_body("UDAPI100042", f"Order is already {order['status']}"), []
        if self.late_cancels and order["status"] == TRIGGER_PENDING:
            update = self._fill(order_id, int(order["quantity"]), float(order["trigger_price"]), "complete")
        else:
            update = self._move(order_id, status="cancelled", message="Cancelled by user")
        body = {"status": "success", "data": {"order_id": order_id}, "metadata": {"latency": 9}}
        return 200, json.dumps(body), [update]

    def modify(self, body: Json) -> tuple[int, str]:
        """`PUT /v3/order/modify`: an open order takes the new quantity, type and prices."""
        order = self.orders.get(str(body.get("order_id")))
        if order is None or order["status"] not in WORKING:
            return 400, error_body("UDAPI100010", "Order not found or not open")
        for field in ("quantity", "order_type", "price", "trigger_price"):
            if field in body:
                order[field] = body[field]
        order["pending_quantity"] = int(order["quantity"]) - int(order["filled_quantity"])
        return 200, json.dumps({"status": "success", "data": {"order_id": order["order_id"]}})

    def details(self, order_id: str) -> tuple[int, str]:
        order = self.orders.get(order_id)
        if order is None:
            return 400, error_body("UDAPI100010", "Order not found")
        return 200, json.dumps({"status": "success", "data": order})

    def net(self) -> dict[str, int]:
        """Signed shares filled per instrument key."""
        net: dict[str, int] = {}
        for order in self.orders.values():
            sign = 1 if order["transaction_type"] == "BUY" else -1
            net[order["instrument_token"]] = net.get(order["instrument_token"], 0) + sign * order["filled_quantity"]
        return net

    def working_order(self, key: str, side: str, qty: int, tag: str | None = None) -> str:
        """An order that sits open at the broker (a limit order placed by hand); its id."""
        body = {"instrument_token": key, "product": "I", "order_type": "LIMIT", "transaction_type": side, "tag": tag}
        order_id = self._new(body, qty)
        self.orders[order_id]["price"] = self.price
        return order_id

    def _new(self, body: Json, qty: int, *, status: str = "open", trigger_price: float = 0.0) -> str:
        """A new order of `qty` shares as a place `body` asks, nothing filled yet; its id."""
        order_id = str(next(self._ids))
        self.orders[order_id] = {
            "order_id": order_id,
            "exchange_order_id": f"1100000{order_id[-8:]}",
            "instrument_token": body["instrument_token"],
            "product": body["product"],
            "order_type": body["order_type"],
            "transaction_type": body["transaction_type"],
            "quantity": qty,
            "price": 0.0,
            "trigger_price": trigger_price,
            "tag": body.get("tag"),
            "status": status,
            "status_message": None,
            "filled_quantity": 0,
            "pending_quantity": qty,
            "average_price": 0.0,
        }
        return order_id

    def stops(self) -> list[Json]:
        """The stop-loss orders resting now (trigger pending), in the order they were placed."""
        return [o for o in self.orders.values() if o["status"] == TRIGGER_PENDING]

    def _rest(self, body: Json) -> tuple[int, str, list[Json]]:
        """A stop-loss order placed: it rests, trigger pending."""
        order_id = self._new(
            body, int(body["quantity"]), status=TRIGGER_PENDING, trigger_price=float(body["trigger_price"])
        )
        answer = {"status": "success", "data": {"order_ids": [order_id]}, "metadata": {"latency": 11}}
        return 200, json.dumps(answer), [self._snapshot(order_id)]

    # --- the exchange, scripted --------------------------------------------------------------

    def trigger_stops(self, price: float) -> list[str]:
        """The market trades at `price`: every resting stop it reaches (a sell stop at or below its
        trigger, a buy stop at or above) fills there, and the stream says so; their ids."""
        hit = [
            o["order_id"]
            for o in self.stops()
            if (price <= o["trigger_price"] if o["transaction_type"] == "SELL" else price >= o["trigger_price"])
        ]
        for order_id in hit:
            self.publish(self._fill(order_id, int(self.orders[order_id]["quantity"]), price, "complete"))
        return hit

    def complete(self, order_id: str, price: float | None = None) -> None:
        """The rest of an open order fills (at `price`, default the desk's)."""
        order = self.orders[order_id]
        self.publish(self._fill(order_id, int(order["quantity"]), price or self.price, "complete"))

    def partial(self, order_id: str, filled: int, price: float | None = None) -> None:
        """Part of an open order fills (`filled` in all); it stays open."""
        self.publish(self._fill(order_id, filled, price or self.price, "open"))

    def cancel_by_exchange(self, order_id: str, message: str = "Cancelled by exchange: IOC unfilled") -> None:
        self.publish(self._move(order_id, status="cancelled", message=message))

    def _run(self, order_id: str, kind: Kind, message: str, price: float) -> list[Json]:
        qty = int(self.orders[order_id]["quantity"])
        part = max(1, qty // 2) if qty > 1 else 0
        match kind:
            case "fill":
                return [self._fill(order_id, qty, price, "complete")]
            case "reject":
                return [self._move(order_id, status="rejected", message=message or "RMS: Margin Exceeds")]
            case "partial_then_rest":
                return [self._fill(order_id, part, price, "open"), self._fill(order_id, qty, price + 2, "complete")]
            case "partial_then_cancel":
                message = message or "Cancelled by exchange: IOC unfilled"
                return [
                    self._fill(order_id, part, price, "open"),
                    self._move(order_id, status="cancelled", message=message),
                ]
            case _:
                return []  # hold: open until the test moves it

    def _fill(self, order_id: str, filled: int, price: float, status: str) -> Json:
        """The order's cumulative fill becomes `filled`; the new shares at `price`."""
        order = self.orders[order_id]
        before, avg = int(order["filled_quantity"]), float(order["average_price"])
        new = filled - before
        order["average_price"] = round((before * avg + new * price) / filled, 4) if filled else 0.0
        order["filled_quantity"] = filled
        order["pending_quantity"] = int(order["quantity"]) - filled if status == "open" else 0
        order["status"] = status
        return self._snapshot(order_id)

    def _move(self, order_id: str, *, status: str, message: str) -> Json:
        order = self.orders[order_id]
        order["status"], order["status_message"], order["pending_quantity"] = status, message, 0
        return self._snapshot(order_id)

    def _snapshot(self, order_id: str) -> Json:
        """The order as a portfolio stream update (`update_type: "order"`)."""
        return {"update_type": "order", "user_id": "AB1234", **self.orders[order_id]}
