"""The fake Upstox's account calls, served on both of the fake's ports with the fake's tokens;
orders are the order desk's (`fake_orders.OrderDesk`: v3 place, modify, cancel, the updates).

- the profile, funds, the intraday positions: the desk's orders' fills, plus `outside`
  (signed shares per instrument key: a position opened by hand, outside the engine);
- the order details (`GET /v2/order/details`) and the order book (`GET /v2/order/retrieve-all`):
  the desk's orders; `working_order` leaves an order open there (a limit order placed by hand);
  `order_book_extra` adds rows as they are (an answer the broker must refuse to read);
- the kill switch (`GET`/`POST /v2/user/kill-switch`): each segment's state in `kill_switch`,
  every body posted in `kill_switch_requests`. Like Upstox it refuses to disable a segment that
  holds a position and updates all segments of a request or none; `kill_switch_answer`, when
  set, is answered as `data` whatever was asked (an answer that does not confirm);
- the brokerage API (`GET /v2/charges/brokerage`): the charges of the order asked about, by
  `brokerage` (a flat Rs 10 plan, unlike the cost model's); every query in
  `brokerage_requests`; `brokerage_answer`, when set, is answered as `data` whatever was asked,
  and `brokerage_error` (HTTP status, message), when set, is answered instead of any figure.

`calls` keeps every (method, path) in the order they came.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.market.upstox.fake_orders import OrderDesk

PROFILE = "/v2/user/profile"
FUNDS = "/v2/user/get-funds-and-margin"
POSITIONS = "/v2/portfolio/short-term-positions"
ORDER_DETAILS = "/v2/order/details"
ORDER_BOOK = "/v2/order/retrieve-all"
KILL_SWITCH = "/v2/user/kill-switch"
BROKERAGE = "/v2/charges/brokerage"
ACCOUNT_PATHS = (PROFILE, FUNDS, POSITIONS, ORDER_DETAILS, ORDER_BOOK, KILL_SWITCH, BROKERAGE)
SEGMENTS = ("NSE_EQ", "BSE_EQ", "NSE_FO", "BSE_FO", "NCD_FO", "BCD_FO", "MCX_FO", "NSE_COM")


def _error(code: str, message: str) -> str:
    return json.dumps({"status": "error", "errors": [{"errorCode": code, "message": message}]})


def brokerage(query: dict[str, str]) -> dict[str, Any]:
    """The fake's charges of one order (`data` of the brokerage API): Rs 10 brokerage, NSE's
    transaction charges, SEBI's fee, STT on a sell, stamp duty on a buy, GST; rounded to paise."""
    qty, price, side = int(query["quantity"]), float(query["price"]), query["transaction_type"]
    if qty <= 0 or price <= 0 or side not in ("BUY", "SELL") or query["product"] not in ("I", "D"):
        raise ValueError(f"quantity, price, transaction_type or product: {query}")
    turnover = qty * price
    fee, transaction, sebi = 10.0, turnover * 0.0000297, turnover * 0.000001
    taxes = {
        "gst": round((fee + transaction + sebi) * 0.18, 2),
        "stt": round(turnover * 0.00025, 2) if side == "SELL" else 0.0,
        "stamp_duty": round(turnover * 0.00003, 2) if side == "BUY" else 0.0,
    }
    other = {"transaction": round(transaction, 2), "clearing": 0.0, "sebi_turnover": round(sebi, 2)}
    total = round(fee + sum(taxes.values()) + sum(other.values()), 2)
    plan = {"name": "", "min_expense": 0}
    return {"charges": {"total": total, "brokerage": fee, "taxes": taxes, "other_charges": other, "dp_plan": plan}}


class RefusedByUpstox(Exception):
    """An account call Upstox would refuse: its error code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class Account:
    """:param tokens: the access tokens accepted (the fake's own set).
    :param notify: wakes the fake's waiters after every call.
    :param desk: the orders (and so the positions they made)."""

    def __init__(self, tokens: Collection[str], notify: Callable[[], None], desk: OrderDesk) -> None:
        self._tokens = tokens
        self._notify = notify
        self.desk = desk
        self.calls: list[tuple[str, str]] = []  # every call, (method, path), in order
        self.outside: dict[str, int] = {}  # positions opened outside the engine: key -> signed shares
        self.kill_switch: dict[str, bool] = dict.fromkeys(SEGMENTS, False)  # engaged, per segment
        self.kill_switch_requests: list[Any] = []  # every body posted to the kill switch
        self.kill_switch_answer: Any = None  # when set: the kill switch's `data`, whatever was asked
        self.order_book_extra: list[Any] = []  # rows the order book answers after the orders
        self.brokerage_requests: list[dict[str, str]] = []  # every query of the brokerage API
        self.brokerage_answer: Any = None  # when set: the brokerage API's `data`, whatever was asked
        self.brokerage_error: tuple[int, str] | None = None  # when set: answered instead of any figure

    def positions(self) -> dict[str, int]:
        """Net intraday shares per instrument: the desk's fills and the outside positions."""
        net = dict(self.outside)
        for key, qty in self.desk.net().items():
            net[key] = net.get(key, 0) + qty
        return {key: qty for key, qty in net.items() if qty}

    def answer(self, method: str, target: str, headers: dict[str, str], body: str) -> tuple[int, str]:
        """(HTTP status, JSON body) of one call."""
        parts = urlsplit(target)
        self.calls.append((method, parts.path))
        self._notify()
        if headers.get("authorization", "").removeprefix("Bearer ") not in self._tokens:
            return 401, _error("UDAPI100050", "Invalid token used to access API")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if (method, parts.path) == ("GET", ORDER_DETAILS):
            return self.desk.details(query.get("order_id", ""))
        handler = {
            ("GET", PROFILE): lambda: {"user_id": "AB1234"},
            ("GET", FUNDS): lambda: {"equity": {"available_margin": 1e7, "used_margin": 0.0}},
            ("GET", POSITIONS): lambda: [
                {"instrument_token": k, "quantity": q, "average_price": self.desk.price, "product": "I"}
                for k, q in self.positions().items()
            ],
            ("GET", ORDER_BOOK): lambda: [*self.desk.orders.values(), *self.order_book_extra],
            ("GET", KILL_SWITCH): self._kill_switch_rows,
            ("POST", KILL_SWITCH): lambda: self._engage(json.loads(body)),
            ("GET", BROKERAGE): lambda: self._brokerage(query),
        }.get((method, parts.path))
        if handler is None:
            return 405, _error("UDAPI100060", f"{method} not allowed on {parts.path}")
        try:
            data = handler()
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            return 400, _error("UDAPI1000", f"bad request: {e}")
        except RefusedByUpstox as e:
            return e.status, _error(e.code, e.message)
        return 200, json.dumps({"status": "success", "data": data})

    def _brokerage(self, query: dict[str, str]) -> Any:
        self.brokerage_requests.append(query)
        if self.brokerage_error is not None:
            status, message = self.brokerage_error
            raise RefusedByUpstox("UDAPI100500" if status >= 500 else "UDAPI1000", message, status)
        return brokerage(query) if self.brokerage_answer is None else self.brokerage_answer

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
        held_positions = self.positions()
        for update in updates:
            segment, action = update.get("segment"), update.get("action")
            if segment not in self.kill_switch or action not in ("ENABLE", "DISABLE"):
                raise RefusedByUpstox("UDAPI1000", f"invalid segment or action: {update}")
            held = [k for k in held_positions if k.split("|")[0] == segment]
            if action == "DISABLE" and held:
                raise RefusedByUpstox("UDAPI1184", f"close the open positions in {segment} first: {held}")
        for update in updates:
            self.kill_switch[update["segment"]] = update["action"] == "DISABLE"
        return self._kill_switch_rows() if self.kill_switch_answer is None else self.kill_switch_answer
