"""The fake Upstox's account calls for reconciliation and the kill switch, served on the fake's
second port (`FakeUpstox.account_url`: it reads request bodies) with the fake's tokens.

- the profile, and the intraday positions (`positions`, signed shares per instrument key);
- v2 market orders (`POST /v2/order/place`, `GET /v2/order/details`): they fill at once, in
  full, at `fill_price`, and move `positions`;
- the order book (`GET /v2/order/retrieve-all`) and its cancel (`DELETE /v2/order/cancel`):
  `working_order` leaves an order open there (a limit order, one placed by hand);
  `order_book_extra` adds rows as they are (an answer the broker must refuse to read);
  `refuse_cancels` answers every cancel with Upstox's error;
- the kill switch (`GET`/`POST /v2/user/kill-switch`): each segment's state in `kill_switch`,
  every body posted in `kill_switch_requests`. Like Upstox it refuses to disable a segment that
  holds a position and updates all segments of a request or none; `kill_switch_answer`, when
  set, is answered as `data` whatever was asked (an answer that does not confirm).

`calls` keeps every (method, path) in the order they came.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import parse_qs, urlsplit

PROFILE = "/v2/user/profile"
POSITIONS = "/v2/portfolio/short-term-positions"
ORDER_PLACE = "/v2/order/place"
ORDER_DETAILS = "/v2/order/details"
ORDER_BOOK = "/v2/order/retrieve-all"
ORDER_CANCEL = "/v2/order/cancel"
KILL_SWITCH = "/v2/user/kill-switch"
ACCOUNT_PATHS = (PROFILE, POSITIONS, ORDER_PLACE, ORDER_DETAILS, ORDER_BOOK, ORDER_CANCEL, KILL_SWITCH)
SEGMENTS = ("NSE_EQ", "BSE_EQ", "NSE_FO", "BSE_FO", "NCD_FO", "BCD_FO", "MCX_FO", "NSE_COM")


def _error(code: str, message: str) -> str:
    return json.dumps({"status": "error", "errors": [{"errorCode": code, "message": message}]})


class RefusedByUpstox(Exception):
    """An account call Upstox would refuse: its error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class Account:
    """:param tokens: the access tokens accepted (the fake's own set).
    :param notify: wakes the fake's waiters after every call."""

    def __init__(self, tokens: Collection[str], notify: Callable[[], None]) -> None:
        self._tokens = tokens
        self._notify = notify
        self.calls: list[tuple[str, str]] = []  # every call, (method, path), in order
        self.positions: dict[str, int] = {}  # intraday positions: instrument key -> signed shares
        self.fill_price = 100.0  # where market orders fill
        self.kill_switch: dict[str, bool] = dict.fromkeys(SEGMENTS, False)  # engaged, per segment
        self.kill_switch_requests: list[Any] = []  # every body posted to the kill switch
        self.kill_switch_answer: Any = None  # when set: the kill switch's `data`, whatever was asked
        self.order_book_extra: list[Any] = []  # rows the order book answers after the orders
        self.refuse_cancels = False  # answer every cancel with Upstox's error
        self._orders: dict[str, dict[str, Any]] = {}

    def answer(self, method: str, target: str, headers: dict[str, str], body: str) -> tuple[int, str]:
        """(HTTP status, JSON body) of one call."""
        parts = urlsplit(target)
        self.calls.append((method, parts.path))
        self._notify()
        if headers.get("authorization", "").removeprefix("Bearer ") not in self._tokens:
            return 401, _error("UDAPI100050", "Invalid token used to access API")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        handler = {
            ("GET", PROFILE): lambda: {"user_id": "AB1234"},
            ("GET", POSITIONS): lambda: [
                {"instrument_token": k, "quantity": q, "average_price": self.fill_price}
                for k, q in self.positions.items()
                if q
            ],
            ("POST", ORDER_PLACE): lambda: self._place(json.loads(body)),
            ("GET", ORDER_DETAILS): lambda: self._orders[query["order_id"]],
            ("GET", ORDER_BOOK): lambda: [*self._orders.values(), *self.order_book_extra],
            ("DELETE", ORDER_CANCEL): lambda: self._cancel(query["order_id"]),
            ("GET", KILL_SWITCH): self._kill_switch_rows,
            ("POST", KILL_SWITCH): lambda: self._engage(json.loads(body)),
        }.get((method, parts.path))
        if handler is None:
            return 405, _error("UDAPI100060", f"{method} not allowed on {parts.path}")
        try:
            data = handler()
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            return 400, _error("UDAPI1000", f"bad request: {e}")
        except RefusedByUpstox as e:
            return 400, _error(e.code, e.message)
        return 200, json.dumps({"status": "success", "data": data})

    # --- orders ---------------------------------------------------------------------------

    def working_order(self, key: str, side: str, qty: int, tag: str | None = None) -> str:
        """An order that sits open at the broker; its id."""
        order_id = f"F{len(self._orders) + 1}"
        self._orders[order_id] = {
            "order_id": order_id,
            "instrument_token": key,
            "transaction_type": side,
            "quantity": qty,
            "status": "open",
            "filled_quantity": 0,
            "pending_quantity": qty,
            "average_price": self.fill_price,
            "tag": tag,
        }
        return order_id

    def order_status(self, order_id: str) -> str:
        return str(self._orders[order_id]["status"])

    def _place(self, order: dict[str, Any]) -> dict[str, Any]:
        qty = int(order["quantity"])
        key = str(order["instrument_token"])
        self.positions[key] = self.positions.get(key, 0) + qty * (1 if order["transaction_type"] == "BUY" else -1)
        order_id = self.working_order(key, order["transaction_type"], qty, order.get("tag"))
        self._orders[order_id].update(status="complete", filled_quantity=qty, pending_quantity=0)
        return {"order_id": order_id}

    def _cancel(self, order_id: str) -> dict[str, Any]:
        order = self._orders[order_id]
        if self.refuse_cancels:
            raise RefusedByUpstox("UDAPI100500", "Something went wrong")
        if order["status"] != "open":
            raise RefusedByUpstox("UDAPI100040", f"order {order_id} is {order['status']}: it cannot be cancelled")
        order.update(status="cancelled", pending_quantity=0)
        return {"order_id": order_id}

    # --- the kill switch ------------------------------------------------------------------

    def _kill_switch_rows(self) -> list[dict[str, Any]]:
        return [
            {"segment": segment, "segment_status": "ACTIVE", "kill_switch_enabled": engaged}
            for segment, engaged in self.kill_switch.items()
        ]

    def _engage(self, updates: Any) -> Any:
        """Upstox's rules: a known segment and ENABLE/DISABLE each, no position in a segment being
        disabled; all of the request or nothing."""
        self.kill_switch_requests.append(updates)
        if not isinstance(updates, list) or not updates:
            raise RefusedByUpstox("UDAPI1000", "the body must be a non-empty list of {segment, action}")
        for update in updates:
            segment, action = update.get("segment"), update.get("action")
            if segment not in self.kill_switch or action not in ("ENABLE", "DISABLE"):
                raise RefusedByUpstox("UDAPI1000", f"invalid segment or action: {update}")
            held = [k for k, q in self.positions.items() if q and k.split("|")[0] == segment]
            if action == "DISABLE" and held:
                raise RefusedByUpstox("UDAPI1184", f"close the open positions in {segment} first: {held}")
        for update in updates:
            self.kill_switch[update["segment"]] = update["action"] == "DISABLE"
        return self._kill_switch_rows() if self.kill_switch_answer is None else self.kill_switch_answer
