"""Upstox (API v2) as a live broker. Every network call goes through `UpstoxTransport`.

Orders are intraday (`product: "I"`) market orders, tagged with the engine's client order id;
after placing one the broker polls its details until Upstox reports it complete, rejected or
cancelled, or `fill_timeout` passes (then the order is UNKNOWN and the engine halts: see the
README's Trading section). Charges are estimated with the cost model (the contract note has
the exact ones). This broker is only ever handed orders by the two-key gate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

import httpx

from app.trading.brokers.base import Funds, OpenOrder, Position
from app.trading.costs import CostModel
from app.trading.errors import BrokerError, NotConnected
from app.trading.orders import OrderRequest, OrderResult, OrderStatus, Side

NAME = "upstox"
TAG = "sd-"  # an order's tag: TAG + the engine's client order id
Json = dict[str, Any]


class UpstoxTransport(Protocol):
    """One Upstox REST call: answers the response's JSON, raises BrokerError on any failure."""

    async def request(
        self, method: str, path: str, *, params: Json | None = None, json: Json | list[Json] | None = None
    ) -> Json: ...

    async def close(self) -> None: ...


class HttpTransport:
    """UpstoxTransport over HTTPS with an access token (`SIGNALDESK_UPSTOX_ACCESS_TOKEN`)."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 10.0,
        network: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._client: httpx.AsyncClient | None = None
        self._timeout = timeout
        self._network = network  # httpx's own transport; tests put a mock network here

    async def request(
        self, method: str, path: str, *, params: Json | None = None, json: Json | list[Json] | None = None
    ) -> Json:
        if not self._token:
            raise BrokerError(NAME, "no access token: set SIGNALDESK_UPSTOX_ACCESS_TOKEN")
        if self._client is None:
            headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
            self._client = httpx.AsyncClient(
                base_url=self.base_url, headers=headers, timeout=self._timeout, transport=self._network
            )
        try:
            response = await self._client.request(method, path, params=params, json=json)
        except httpx.HTTPError as e:
            raise BrokerError(NAME, f"{method} {path} failed: {e}") from e
        try:
            body: Json = response.json()
        except ValueError as e:
            raise BrokerError(NAME, f"{method} {path}: HTTP {response.status_code}, not JSON") from e
        if response.status_code >= 400 or body.get("status") == "error":
            errors = body.get("errors") or [{}]
            raise BrokerError(NAME, f"{method} {path}: HTTP {response.status_code}: {errors[0].get('message', body)}")
        return body

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


_FINAL = {"complete": OrderStatus.FILLED, "rejected": OrderStatus.REJECTED, "cancelled": OrderStatus.REJECTED}


class UpstoxBroker:
    """:param fill_timeout: seconds to wait for a market order to complete before calling it UNKNOWN.
    :param poll_interval: seconds between order-detail polls."""

    is_live = True

    def __init__(
        self, *, transport: UpstoxTransport, costs: CostModel, fill_timeout: float = 5.0, poll_interval: float = 0.2
    ) -> None:
        self._transport = transport
        self._costs = costs
        self._fill_timeout = fill_timeout
        self._poll = poll_interval
        self._connected = False

    @property
    def name(self) -> str:
        return NAME

    @property
    def connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        await self._transport.request("GET", "/v2/user/profile")
        self._connected = True

    async def close(self) -> None:
        self._connected = False
        await self._transport.close()

    async def check(self) -> None:
        try:
            await self._transport.request("GET", "/v2/user/profile")
        except BrokerError:
            self._connected = False
            raise

    def _check(self) -> None:
        if not self._connected:
            raise NotConnected(NAME)

    async def place_order(self, request: OrderRequest) -> OrderResult:
        self._check()
        body = {
            "quantity": request.qty,
            "product": "I",
            "validity": "DAY",
            "price": 0,
            "tag": f"sd-{request.client_order_id}",
            "instrument_token": request.instrument_key,
            "order_type": "MARKET",
            "transaction_type": request.side.value.upper(),
            "disclosed_quantity": 0,
            "trigger_price": 0,
            "is_amo": False,
        }
        answer = await self._transport.request("POST", "/v2/order/place", json=body)
        order_id = str((answer.get("data") or {}).get("order_id") or "")
        if not order_id:
            raise BrokerError(NAME, f"order place answered without an order_id: {answer}")
        return await self._await_fill(request, order_id)

    async def _await_fill(self, request: OrderRequest, order_id: str) -> OrderResult:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._fill_timeout
        while True:
            details = (await self._transport.request("GET", "/v2/order/details", params={"order_id": order_id})).get(
                "data"
            ) or {}
            status = _FINAL.get(str(details.get("status", "")).lower())
            if status is not None:
                filled = int(details.get("filled_quantity") or 0)
                price = float(details.get("average_price") or 0.0)
                if status is OrderStatus.FILLED and filled < request.qty:
                    status = OrderStatus.PARTIAL
                if filled and status is OrderStatus.REJECTED:
                    status = OrderStatus.PARTIAL
                charges = self._costs.charges(request.side, filled, price).total if filled else 0.0
                return OrderResult(status, filled, price, charges, order_id, details.get("status_message"))
            if loop.time() >= deadline:
                return OrderResult(
                    OrderStatus.UNKNOWN,
                    broker_order_id=order_id,
                    message=f"no final status after {self._fill_timeout:g} s",
                )
            await asyncio.sleep(self._poll)

    async def cancel_order(self, broker_order_id: str) -> None:
        self._check()
        await self._transport.request("DELETE", "/v2/order/cancel", params={"order_id": broker_order_id})

    async def positions(self) -> dict[str, Position]:
        self._check()
        rows = (await self._transport.request("GET", "/v2/portfolio/short-term-positions")).get("data") or []
        out: dict[str, Position] = {}
        for row in rows:
            qty = int(row.get("quantity") or 0)
            if qty:
                key = str(row["instrument_token"])
                out[key] = Position(key, qty, float(row.get("average_price") or 0.0))
        return out

    async def funds(self) -> Funds:
        self._check()
        data = (await self._transport.request("GET", "/v2/user/get-funds-and-margin", params={"segment": "SEC"})).get(
            "data"
        ) or {}
        equity = data.get("equity") or {}
        return Funds(float(equity.get("available_margin") or 0.0), float(equity.get("used_margin") or 0.0))

    # --- open orders (reconciliation) ------------------------------------------------------

    async def open_orders(self) -> list[OpenOrder]:
        """The day's order book (`GET /v2/order/retrieve-all`), the orders not final yet."""
        self._check()
        rows = (await self._transport.request("GET", "/v2/order/retrieve-all")).get("data")
        if not isinstance(rows, list):
            raise BrokerError(NAME, f"the order book is not a list: {rows!r}")
        orders = [_open_order(row) for row in rows]
        return [order for order in orders if order is not None]

    # --- the kill switch (app.trading.kill_switch) -----------------------------------------

    async def kill_switch(self, segments: Sequence[str]) -> None:
        """`POST /v2/user/kill-switch`, every segment `DISABLE`d (trading stopped there; Upstox
        updates all of them or none); BrokerError unless the answer says each one is engaged."""
        self._check()
        body = [{"segment": segment, "action": "DISABLE"} for segment in segments]
        answer = await self._transport.request("POST", "/v2/user/kill-switch", json=body)
        rows = answer.get("data")
        engaged = {
            str(row.get("segment"))
            for row in (rows if isinstance(rows, list) else [])
            if isinstance(row, dict) and row.get("kill_switch_enabled") is True
        }
        missing = [segment for segment in segments if segment not in engaged]
        if missing:
            raise BrokerError(NAME, f"the kill switch is not confirmed engaged for {', '.join(missing)}: {answer}")


def _open_order(row: object) -> OpenOrder | None:
    """One row of the order book, None when it is final (complete, rejected, cancelled)."""
    if not isinstance(row, dict):
        raise BrokerError(NAME, f"the order book has a row that is not an object: {row!r}")
    if str(row.get("status", "")).lower() in _FINAL:
        return None
    tag = str(row.get("tag") or "")
    engine_id = tag.removeprefix(TAG) if tag.startswith(TAG) else ""
    pending = row.get("pending_quantity")
    try:
        return OpenOrder(
            broker_order_id=str(row["order_id"]),
            instrument_key=str(row["instrument_token"]),
            side=Side(str(row["transaction_type"]).lower()),
            qty=int(pending if pending is not None else row["quantity"]),
            client_order_id=int(engine_id) if engine_id.isdigit() else None,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise BrokerError(NAME, f"the order book has an order it cannot read ({e}): {row!r}") from e
