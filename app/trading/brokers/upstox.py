"""Upstox as a live broker. Every REST call goes through `UpstoxTransport`.

Orders are intraday (`product: "I"`) market orders on API v3, on the order host
(SIGNALDESK_UPSTOX_ORDER_URL, `https://api-hft.upstox.com`): `POST /v3/order/place` with the
engine's client order id as `tag` and `slice: true` (an order above the instrument's freeze
quantity is split by Upstox: the place answers several `order_ids`, followed here as one order:
`upstox_orders.TrackedOrder`). `PUT /v3/order/modify` and `DELETE /v3/order/cancel` go there too.
Stops held at the broker (`StopOrders`, SIGNALDESK_HFT_BROKER_STOPS) are SL-M orders on the same
endpoints, followed by the same updates (docs/upstox-orders.md, "Stops held at the broker").

A successful place is not a fill. The broker learns what became of the order from the portfolio
stream (`upstox_stream.PortfolioStream`): each update resolves the waiting order. While the
stream is down the broker polls `GET /v2/order/details` for the order's open ids instead
(`order_updates` says which). The order ends when every id has ended, or after `fill_timeout`:
then the ids still open are cancelled; what filled by then is a PARTIAL fill, nothing filled is
UNKNOWN (the engine halts: see the README's Trading section). Charges are estimated with the
cost model; once the order is answered, Upstox's own figure of each fill is asked for apart
(`FillCharges`, `upstox_charges`), never on the engine's path. This broker is only ever handed
orders by the two-key gate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal, Protocol

import httpx

from app.market.upstox.access_token import AccessToken
from app.market.upstox.errors import TokenUnavailable
from app.trading.brokers.base import Fill, Funds, OpenOrder, Position
from app.trading.brokers.upstox_charges import BROKERAGE, brokerage_params, charges_total
from app.trading.brokers.upstox_orders import FINAL, TAG, OrderUpdate, TrackedOrder, tag_of
from app.trading.brokers.upstox_stream import PortfolioStream
from app.trading.costs import CostModel
from app.trading.enums import OrderStatus, Side
from app.trading.errors import BrokerError, NoAnswer, NotConnected
from app.trading.orders import OrderRequest, OrderResult

log = logging.getLogger(__name__)

NAME = "upstox"
Json = dict[str, Any]
Host = Literal["api", "orders"]


class UpstoxTransport(Protocol):
    """One Upstox REST call on the API host or the order host: answers the response's JSON,
    raises NoAnswer when none came (or a 5xx), BrokerError when Upstox refused."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Json | None = None,
        json: Json | list[Json] | None = None,
        host: Host = "api",
    ) -> Json: ...

    async def close(self) -> None: ...


class HttpTransport:
    """UpstoxTransport over HTTP(S); the access token is read again for every request, so a renewed
    token file (and a 401 followed by a new token) needs no restart."""

    def __init__(self, base_url: str, order_url: str, token: AccessToken | None, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.order_url = order_url.rstrip("/")
        self._token = token
        self._client: httpx.AsyncClient | None = None
        self._timeout = timeout

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Json | None = None,
        json: Json | list[Json] | None = None,
        host: Host = "api",
    ) -> Json:
        if self._token is None:
            raise BrokerError(NAME, "no access token: set SIGNALDESK_UPSTOX_ACCESS_TOKEN or _FILE")
        try:
            token = self._token.read()
        except TokenUnavailable as e:
            raise BrokerError(NAME, str(e)) from e
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        url = (self.order_url if host == "orders" else self.base_url) + path
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            response = await self._client.request(method, url, params=params, json=json, headers=headers)
        except httpx.HTTPError as e:
            raise NoAnswer(NAME, f"{method} {path} failed: {type(e).__name__}: {e}") from e
        try:
            body: Json = response.json()
        except ValueError as e:
            raise BrokerError(NAME, f"{method} {path}: HTTP {response.status_code}, not JSON") from e
        if response.status_code >= 400 or not isinstance(body, dict) or body.get("status") == "error":
            errors = (body.get("errors") if isinstance(body, dict) else None) or [{}]
            first = errors[0] if isinstance(errors[0], dict) else {}
            message = first.get("message", body)
            if response.status_code == 401:
                message = f"token expired or invalid: {message}"
            error = NoAnswer if response.status_code >= 500 else BrokerError
            raise error(NAME, f"{method} {path}: HTTP {response.status_code}: {message}")
        return body

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class UpstoxBroker:
    """:param stream: the portfolio stream (order updates); None: order details are always polled.
    :param fill_timeout: seconds to wait for a market order to end before cancelling what is open.
    :param poll_interval: seconds between order-detail polls while the stream is down.
    :param market_protection: `market_protection` (percent) of every market order; None: not sent."""

    is_live = True

    def __init__(
        self,
        *,
        transport: UpstoxTransport,
        costs: CostModel,
        stream: PortfolioStream | None = None,
        fill_timeout: float = 5.0,
        poll_interval: float = 0.2,
        market_protection: float | None = None,
    ) -> None:
        self._transport = transport
        self._costs = costs
        self._stream = stream
        self._fill_timeout = fill_timeout
        self._poll = poll_interval
        self._market_protection = market_protection
        self._connected = False
        self._waiting: dict[str, TrackedOrder] = {}  # by tag
        self._fill_listeners: list[Callable[[Fill], None]] = []
        self._stop_listeners: list[Callable[[int], None]] = []
        if stream is not None:
            stream.on_update = self.on_update

    @property
    def name(self) -> str:
        return NAME

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def stream(self) -> PortfolioStream | None:
        return self._stream

    def add_reconnect_listener(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """`StreamReconnects`: the portfolio stream's reconnects (never, without a stream)."""
        if self._stream is None:
            return lambda: None
        return self._stream.add_reconnect_listener(listener)

    @property
    def order_updates(self) -> str:
        """Where order outcomes come from now: "stream", or "polling (...)" and why."""
        if self._stream is None:
            return "polling (no portfolio stream)"
        return "stream" if self._stream.up else f"polling (stream down: {self._stream.down})"

    async def connect(self) -> None:
        await self._transport.request("GET", "/v2/user/profile")
        self._connected = True
        if self._stream is not None:
            self._stream.start()

    async def close(self) -> None:
        self._connected = False
        if self._stream is not None:
            await self._stream.stop()
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

    def on_update(self, update: OrderUpdate) -> None:
        """An order update (from the stream): applied to the waiting order it belongs to."""
        tracked = self._waiting.get(update.tag)
        if tracked is not None:
            tracked.apply(update)
            return
        engine_id = update.tag.removeprefix(TAG)
        if update.final and update.tag.startswith(TAG) and engine_id.isdigit():
            for listener in list(self._stop_listeners):  # a stop held here ended (it filled, or was cancelled)
                listener(int(engine_id))

    async def place_order(self, request: OrderRequest) -> OrderResult:
        self._check()
        body = self._place_body(request, order_type="MARKET", trigger_price=0.0, slice=True)
        tracked = TrackedOrder(request)
        self._waiting[tracked.tag] = tracked  # before the place: an update may beat its answer
        try:
            try:
                answer = await self._transport.request("POST", "/v3/order/place", json=body, host="orders")
            except NoAnswer as e:  # it may have been placed: the engine halts until reconciled
                return OrderResult(OrderStatus.UNKNOWN, message=f"{e.message}; whether it was placed is unknown")
            order_ids = (answer.get("data") or {}).get("order_ids")
            if not isinstance(order_ids, list) or not order_ids or not all(isinstance(i, str) and i for i in order_ids):
                what = f"order place answered success without data.order_ids: {str(answer)[:300]}"
                return OrderResult(OrderStatus.UNKNOWN, message=what)
            tracked.placed(order_ids)
            result = await self._outcome(tracked)
        finally:
            self._waiting.pop(tracked.tag, None)
        self._filled(request, result)
        return result

    def _place_body(self, request: OrderRequest, *, order_type: str, trigger_price: float, slice: bool) -> Json:
        """`POST /v3/order/place`'s body: intraday, tagged with the engine's order id."""
        body: Json = {
            "quantity": request.qty,
            "product": "I",
            "validity": "DAY",
            "price": 0,
            "tag": tag_of(request.client_order_id),
            "slice": slice,
            "instrument_token": request.instrument_key,
            "order_type": order_type,
            "transaction_type": request.side.value.upper(),
            "disclosed_quantity": 0,
            "trigger_price": trigger_price,
            "is_amo": False,
        }
        if self._market_protection is not None:
            body["market_protection"] = self._market_protection
        return body

    def _filled(self, request: OrderRequest, result: OrderResult) -> None:
        """Tell the fill listeners (`FillCharges`) of what `request` filled, if anything."""
        if result.filled_qty:
            fill = Fill(
                request.client_order_id, request.instrument_key, request.side, result.filled_qty, result.avg_price
            )
            for listener in list(self._fill_listeners):
                listener(fill)

    async def _outcome(self, tracked: TrackedOrder) -> OrderResult:
        """Wait for every id to end: on the stream's updates, or polling while the stream is down."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._fill_timeout
        poll_error: str | None = None
        while not tracked.done:
            if loop.time() >= deadline:
                return await self._timed_out(tracked, poll_error)
            if self._stream is None or not self._stream.up:
                try:
                    await self._poll_details(tracked)
                except BrokerError as e:  # tried again at the next poll, until the deadline
                    poll_error = e.message
                if tracked.done:
                    break
            tracked.changed.clear()
            wait = min(self._poll, deadline - loop.time())
            try:
                async with asyncio.timeout(max(wait, 0.0)):
                    await tracked.changed.wait()
            except TimeoutError:
                pass  # look again: the deadline, and whether the stream is up
        return tracked.result(self._costs)

    async def _poll_details(self, tracked: TrackedOrder) -> None:
        for order_id in tracked.open_ids:
            answer = await self._transport.request("GET", "/v2/order/details", params={"order_id": order_id})
            try:
                tracked.apply(OrderUpdate.parse({"order_id": order_id, **(answer.get("data") or {})}))
            except ValueError as e:
                raise BrokerError(NAME, f"order details of {order_id}: {e}") from e

    async def _timed_out(self, tracked: TrackedOrder, poll_error: str | None) -> OrderResult:
        """Cancel the ids still open; PARTIAL with what filled, UNKNOWN when nothing did."""
        open_ids = tracked.open_ids
        cancelled, failed = [], []
        for order_id in open_ids:
            try:
                await self.cancel_order(order_id)
                cancelled.append(order_id)
            except BrokerError as e:
                failed.append(f"{order_id}: {e.message}")
        what = f"no final status after {self._fill_timeout:g} s"
        if poll_error is not None:
            what += f" (order details: {poll_error})"
        if cancelled:
            what += f"; cancelled the rest ({', '.join(cancelled)})"
        if failed:
            what += f"; could not cancel {'; '.join(failed)}"
        if tracked.filled and not failed:
            return tracked.result(self._costs, note=what)
        return OrderResult(OrderStatus.UNKNOWN, broker_order_id=",".join(tracked.order_ids), message=what)

    async def cancel_order(self, broker_order_id: str) -> None:
        self._check()
        await self._transport.request("DELETE", "/v3/order/cancel", params={"order_id": broker_order_id}, host="orders")

    async def modify_order(
        self, broker_order_id: str, *, qty: int, order_type: str, price: float = 0.0, trigger_price: float = 0.0
    ) -> None:
        """`PUT /v3/order/modify` (a stop's trigger moved)."""
        self._check()
        body: Json = {
            "order_id": broker_order_id,
            "quantity": qty,
            "validity": "DAY",
            "price": price,
            "order_type": order_type,
            "disclosed_quantity": 0,
            "trigger_price": trigger_price,
        }
        await self._transport.request("PUT", "/v3/order/modify", json=body, host="orders")

    # --- stops held at the broker (StopOrders): SL-M orders -----------------------------------

    async def place_stop(self, request: OrderRequest) -> str:
        """`POST /v3/order/place` of an SL-M at `request.price` (the trigger), not sliced: one id.
        When the place gets no answer the stop may rest at Upstox all the same, and placing it
        again would leave two that could both sell: the order book is read for one with this
        stop's tag, and that one is the stop (NoAnswer only when the book has none either)."""
        self._check()
        body = self._place_body(request, order_type="SL-M", trigger_price=request.price, slice=False)
        try:
            answer = await self._transport.request("POST", "/v3/order/place", json=body, host="orders")
        except NoAnswer:
            placed = [o for o in await self.open_orders() if o.client_order_id == request.client_order_id]
            if len(placed) == 1:
                return placed[0].broker_order_id
            raise
        order_ids = (answer.get("data") or {}).get("order_ids")
        if not isinstance(order_ids, list) or len(order_ids) != 1 or not isinstance(order_ids[0], str):
            raise BrokerError(NAME, f"the stop's place answered without one data.order_ids: {str(answer)[:300]}")
        return order_ids[0]

    async def move_stop(self, broker_order_id: str, request: OrderRequest) -> None:
        await self.modify_order(broker_order_id, qty=request.qty, order_type="SL-M", trigger_price=request.price)

    async def cancel_stop(self, broker_order_id: str, request: OrderRequest) -> OrderResult:
        """`DELETE /v3/order/cancel`, then the stop's final status from the stream (or polled), as
        a market order's is waited for; a refused cancel (the stop already ended) is looked up."""
        self._check()
        tracked = TrackedOrder(request)
        tracked.placed([broker_order_id])
        self._waiting[tracked.tag] = tracked
        try:
            try:
                await self.cancel_order(broker_order_id)
            except NoAnswer:
                pass  # whether it was cancelled: the stop's status says
            except BrokerError as e:  # refused: did it end (fill?) before the cancel came?
                await self._poll_details(tracked)
                if not tracked.done:
                    what = f"the cancel was refused ({e.message}) and the stop still works"
                    return OrderResult(OrderStatus.UNKNOWN, broker_order_id=broker_order_id, message=what)
            result = await self._outcome(tracked)
        finally:
            self._waiting.pop(tracked.tag, None)
        return self._stop_result(request, result)

    async def stop_state(self, broker_order_id: str, request: OrderRequest) -> OrderResult | None:
        """`GET /v2/order/details` of the stop: None while it works."""
        self._check()
        tracked = TrackedOrder(request)
        tracked.placed([broker_order_id])
        await self._poll_details(tracked)
        return self._stop_result(request, tracked.result(self._costs)) if tracked.done else None

    def _stop_result(self, request: OrderRequest, result: OrderResult) -> OrderResult:
        """A stop that ended with nothing filled was cancelled, not rejected (in our terms)."""
        if result.status is OrderStatus.REJECTED:
            return replace(result, status=OrderStatus.CANCELLED)
        self._filled(request, result)
        return result

    def add_stop_listener(self, listener: Callable[[int], None]) -> Callable[[], None]:
        """`StopOrders`: the stream's final updates of engine orders nobody waits on."""
        self._stop_listeners.append(listener)
        return lambda: self._stop_listeners.remove(listener)

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

    # --- the broker's charges of a fill (FillCharges) -------------------------------------

    def add_fill_listener(self, listener: Callable[[Fill], None]) -> Callable[[], None]:
        """`FillCharges`: `listener` hears of each order that filled shares, once it is answered."""
        self._fill_listeners.append(listener)
        return lambda: self._fill_listeners.remove(listener)

    async def fill_charges(self, fill: Fill) -> float:
        """`GET /v2/charges/brokerage` for what filled: Upstox's charges of it (`upstox_charges`)."""
        self._check()
        answer = await self._transport.request("GET", BROKERAGE, params=brokerage_params(fill))
        return charges_total(NAME, fill, answer)

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
        engaged = _engaged(answer)
        missing = [segment for segment in segments if segment not in engaged]
        if missing:
            raise BrokerError(NAME, f"the kill switch is not confirmed engaged for {', '.join(missing)}: {answer}")

    async def kill_switch_engaged(self) -> tuple[str, ...]:
        """`GET /v2/user/kill-switch`: the segments disabled now (by us, or by hand at Upstox)."""
        self._check()
        return tuple(sorted(_engaged(await self._transport.request("GET", "/v2/user/kill-switch"))))


def _engaged(answer: Json) -> set[str]:
    """The segments a kill switch answer (`data`: rows of segment, kill_switch_enabled) says are engaged."""
    rows = answer.get("data")
    return {
        str(row.get("segment"))
        for row in (rows if isinstance(rows, list) else [])
        if isinstance(row, dict) and row.get("kill_switch_enabled") is True
    }


def _open_order(row: object) -> OpenOrder | None:
    """One row of the order book, None when it is final (complete, rejected, cancelled)."""
    if not isinstance(row, dict):
        raise BrokerError(NAME, f"the order book has a row that is not an object: {row!r}")
    if str(row.get("status", "")).lower() in FINAL:
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
