"""Upstox as a live broker, its network replaced: what it sends, what it makes of the answers."""

from __future__ import annotations

import json

import httpx
import pytest

from app.trading.brokers.upstox import HttpTransport, UpstoxBroker
from app.trading.costs import CostModel
from app.trading.errors import BrokerError, NotConnected
from app.trading.orders import OrderRequest, OrderStatus, Side
from tests.trading.fakes import UpstoxNetwork
from tests.trading.stubs import RELIANCE, make_desk

PRICES = {RELIANCE: 2900.0}


async def test_an_intraday_market_order_and_its_fill() -> None:
    network = UpstoxNetwork(price=2901.5)
    broker = UpstoxBroker(transport=network, costs=CostModel())
    with pytest.raises(NotConnected):
        await broker.place_order(OrderRequest(7, RELIANCE, Side.BUY, 10, 2900.0, 0))
    await broker.connect()
    result = await broker.place_order(OrderRequest(7, RELIANCE, Side.SELL, 10, 2900.0, 0))
    assert (result.status, result.filled_qty, result.avg_price, result.broker_order_id) == (
        OrderStatus.FILLED,
        10,
        2901.5,
        "U1",
    )
    assert network.orders == [
        {
            "quantity": 10,
            "product": "I",
            "validity": "DAY",
            "price": 0,
            "tag": "sd-7",
            "instrument_token": RELIANCE,
            "order_type": "MARKET",
            "transaction_type": "SELL",
            "disclosed_quantity": 0,
            "trigger_price": 0,
            "is_amo": False,
        }
    ]
    assert (await broker.positions())[RELIANCE].qty == -10
    assert (await broker.funds()).available == 1e7


async def test_an_order_without_a_final_status_is_unknown_and_halts_the_engine() -> None:
    network = UpstoxNetwork()
    broker = UpstoxBroker(transport=network, costs=CostModel(), fill_timeout=0.05, poll_interval=0.01)
    await broker.connect()
    real = network.request

    async def pending(method: str, path: str, **kw: object) -> dict[str, object]:
        answer = await real(method, path, **kw)  # type: ignore[arg-type]
        return {"status": "success", "data": {"status": "open"}} if path == "/v2/order/details" else answer

    network.request = pending  # type: ignore[method-assign]
    desk = await make_desk(venue=broker, safe_mode=False, live_enabled=True)
    await desk.warm(PRICES)
    desk.calibrate(RELIANCE)
    desk.predict(RELIANCE, 0.01)
    events = await desk.bar(PRICES)
    assert [t for t, _ in events] == ["hft.error", "hft.state", "hft.manage_error"]
    assert "unknown outcome at upstox" in events[0][1]["error"]
    assert events[1][1]["state"] == "halted" and "unknown outcome" in events[1][1]["halted_reason"]
    assert desk.engine.halted_reason is not None
    (order,) = desk.journal.rows("hft_orders")
    assert order["status"] == "unknown" and order["broker_order_id"] == "U1"


async def test_the_gate_stops_an_order_at_the_last_moment_when_a_key_is_off() -> None:
    network = UpstoxNetwork()
    broker = UpstoxBroker(transport=network, costs=CostModel())
    await broker.connect()
    desk = await make_desk(venue=broker, safe_mode=True, live_enabled=True)  # a live venue in safe mode: a bug upstream
    await desk.warm(PRICES)
    desk.calibrate(RELIANCE)
    desk.predict(RELIANCE, 0.01)
    events = await desk.bar(PRICES)
    assert events[0][0] == "hft.error" and "safe mode on; refused; halted" in events[0][1]["error"]
    assert events[1] == ("hft.state", {**events[1][1], "state": "halted", "broker": "upstox", "safe_mode": True})
    assert network.orders == [] and desk.engine.halted_reason is not None


async def test_the_https_transport_sends_the_token_and_reads_errors() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v2/order/place":
            return httpx.Response(400, json={"status": "error", "errors": [{"message": "Insufficient funds"}]})
        return httpx.Response(200, json={"status": "success", "data": {}})

    transport = HttpTransport("https://upstox.invalid", "tok-123", network=httpx.MockTransport(answer))
    await transport.request("GET", "/v2/user/profile")
    with pytest.raises(BrokerError, match="Insufficient funds"):
        await transport.request("POST", "/v2/order/place", json={"quantity": 1})
    assert seen[0].headers["authorization"] == "Bearer tok-123" and json.loads(seen[1].content) == {"quantity": 1}
    await transport.close()
    with pytest.raises(BrokerError, match="no access token"):
        await HttpTransport("https://upstox.invalid", None).request("GET", "/v2/user/profile")
