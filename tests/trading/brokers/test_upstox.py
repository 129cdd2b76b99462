"""Upstox as a live broker against the fake Upstox on loopback: orders on API v3, their outcomes
from the portfolio stream (polling only while it is down), slices followed as one order, and
what the engine makes of each outcome."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.core.config import Settings
from app.market.upstox.access_token import AccessToken
from app.trading.brokers.upstox import HttpTransport, UpstoxBroker
from app.trading.brokers.upstox_stream import PortfolioStream
from app.trading.costs import CostModel
from app.trading.enums import OrderStatus, Side
from app.trading.errors import BrokerError, NotConnected
from app.trading.orders import OrderRequest
from app.trading.system import upstox_broker
from tests.market.upstox.fake import FakeUpstox
from tests.market.upstox.fake_orders import Outcome
from tests.support.waits import polled
from tests.trading.stubs import RELIANCE, make_desk

PRICES = {RELIANCE: 2900.0}


def settings(fake: FakeUpstox, token_file: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "upstox_base_url": fake.url,
        "upstox_order_url": fake.order_url,
        "upstox_access_token_file": token_file,
        "upstox_reconnect_min": 0.01,
        "upstox_reconnect_max": 0.05,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
async def broker(fake: FakeUpstox, token_file: Path) -> AsyncIterator[UpstoxBroker]:
    """The broker the server builds, connected, its portfolio stream up."""
    made = upstox_broker(settings(fake, token_file), CostModel())
    await made.connect()
    await streaming(made)
    yield made
    await made.close()


def make_broker(fake: FakeUpstox, token_file: Path, *, stream: bool = True, **options: Any) -> UpstoxBroker:
    """A broker built by hand, for options the server's builder does not take."""
    token = AccessToken(path=token_file)
    return UpstoxBroker(
        transport=HttpTransport(fake.url, fake.order_url, token),
        costs=CostModel(),
        stream=PortfolioStream(base_url=fake.url, token=token, reconnect_min=0.01, reconnect_max=0.05)
        if stream
        else None,
        **options,
    )


async def streaming(broker: UpstoxBroker) -> None:
    assert broker.stream is not None
    await asyncio.wait_for(broker.stream.wait(lambda s: s.up), 5)
    assert broker.order_updates == "stream"


def polls(fake: FakeUpstox) -> int:
    return sum(1 for _, path, _ in fake.broker_requests if path == "/v2/order/details")


def buy(qty: int = 10, order_id: int = 7) -> OrderRequest:
    return OrderRequest(order_id, RELIANCE, Side.BUY, qty, 2900.0, 0)


async def test_a_v3_market_order_filled_as_the_stream_says(fake: FakeUpstox, token_file: Path) -> None:
    made = upstox_broker(settings(fake, token_file, upstox_market_protection=2.5), CostModel())
    with pytest.raises(NotConnected):
        await made.place_order(buy())
    await made.connect()
    try:
        await streaming(made)
        result = await made.place_order(OrderRequest(7, RELIANCE, Side.SELL, 10, 2900.0, 0))
        (order_id,) = fake.desk.orders
        assert (result.status, result.filled_qty, result.avg_price, result.broker_order_id) == (
            OrderStatus.FILLED,
            10,
            2900.0,
            order_id,
        )
        assert result.charges > 0
        assert fake.placed == [
            {
                "quantity": 10,
                "product": "I",
                "validity": "DAY",
                "price": 0,
                "tag": "sd-7",
                "slice": True,
                "instrument_token": RELIANCE,
                "order_type": "MARKET",
                "transaction_type": "SELL",
                "disclosed_quantity": 0,
                "trigger_price": 0,
                "is_amo": False,
                "market_protection": 2.5,
            }
        ]
        assert [u["status"] for u in fake.desk.updates] == ["open", "complete"]
        assert polls(fake) == 0  # the stream said it: no order details asked for
        assert (await made.positions())[RELIANCE].qty == -10
        assert (await made.funds()).available == 1e7
    finally:
        await made.close()


async def test_a_rejection_after_the_accept_is_a_rejection(fake: FakeUpstox, broker: UpstoxBroker) -> None:
    fake.desk.script(Outcome("reject", message="RMS: Margin Exceeds, Required: 29000"))
    result = await broker.place_order(buy())
    assert [u["status"] for u in fake.desk.updates] == ["open", "rejected"]  # "success", then the exchange's no
    assert (result.status, result.filled_qty) == (OrderStatus.REJECTED, 0)
    assert result.message is not None and "rejected: RMS: Margin Exceeds, Required: 29000" in result.message


async def test_a_partial_fill_then_the_rest_is_one_fill_at_the_weighted_price(
    fake: FakeUpstox, broker: UpstoxBroker
) -> None:
    fake.desk.script(Outcome("partial_then_rest"))
    result = await broker.place_order(buy(10))
    assert [(u["status"], u["filled_quantity"]) for u in fake.desk.updates] == [
        ("open", 0),
        ("open", 5),
        ("complete", 10),
    ]
    assert (result.status, result.filled_qty) == (OrderStatus.FILLED, 10)
    assert result.avg_price == pytest.approx((5 * 2900.0 + 5 * 2902.0) / 10)


async def test_a_partial_fill_cancelled_by_the_exchange_is_partial(fake: FakeUpstox, broker: UpstoxBroker) -> None:
    fake.desk.script(Outcome("partial_then_cancel"))
    result = await broker.place_order(buy(10))
    assert (result.status, result.filled_qty, result.avg_price) == (OrderStatus.PARTIAL, 5, 2900.0)
    assert result.message is not None
    assert "filled 5 of 10" in result.message and "cancelled: Cancelled by exchange" in result.message


async def test_an_order_sliced_into_three_is_followed_as_one(fake: FakeUpstox, broker: UpstoxBroker) -> None:
    fake.desk.script(Outcome("fill", slices=3))
    result = await broker.place_order(buy(10))
    ids = list(fake.desk.orders)
    assert [o["quantity"] for o in fake.desk.orders.values()] == [4, 3, 3]
    assert (result.status, result.filled_qty, result.broker_order_id) == (OrderStatus.FILLED, 10, ",".join(ids))
    assert result.avg_price == pytest.approx((4 * 2900.0 + 3 * 2901.0 + 3 * 2902.0) / 10)
    assert len(fake.placed) == 1 and polls(fake) == 0


async def test_one_order_s_fill_price_is_upstox_s_average_exactly(fake: FakeUpstox, broker: UpstoxBroker) -> None:
    """Not 9 x 1839.05 / 9 (1839.0500000000002): a trade's exit is the price Upstox gave."""
    fake.desk.price = 1839.05
    result = await broker.place_order(buy(9))
    assert (result.status, result.avg_price) == (OrderStatus.FILLED, 1839.05)


async def test_slices_filled_and_rejected_make_a_partial_fill(fake: FakeUpstox, broker: UpstoxBroker) -> None:
    fake.desk.script(Outcome(slice_kinds=("fill", "reject", "fill")))
    result = await broker.place_order(buy(9))
    rejected = list(fake.desk.orders)[1]
    assert (result.status, result.filled_qty) == (OrderStatus.PARTIAL, 6)
    assert result.avg_price == pytest.approx((3 * 2900.0 + 3 * 2902.0) / 6)
    assert result.message is not None and f"order {rejected} rejected" in result.message


async def test_a_refused_place_raises_with_upstox_s_message(fake: FakeUpstox, broker: UpstoxBroker) -> None:
    fake.desk.script(Outcome("refuse", message="Insufficient funds"))
    with pytest.raises(BrokerError, match="POST /v3/order/place: HTTP 400: Insufficient funds"):
        await broker.place_order(buy())
    assert fake.desk.orders == {}


async def test_a_place_without_an_answer_is_unknown_not_rejected(fake: FakeUpstox, broker: UpstoxBroker) -> None:
    fake.desk.script(Outcome("server_error"))
    result = await broker.place_order(buy())
    assert result.status is OrderStatus.UNKNOWN
    assert result.message == ("POST /v3/order/place: HTTP 500: Something went wrong; whether it was placed is unknown")


async def test_an_order_still_open_at_the_timeout_is_cancelled(fake: FakeUpstox, token_file: Path) -> None:
    made = make_broker(fake, token_file, stream=False, fill_timeout=0.2, poll_interval=0.02)
    await made.connect()
    fake.desk.script(Outcome("hold"))
    result = await made.place_order(buy())
    (order_id,) = fake.desk.orders
    assert ("DELETE", "/v3/order/cancel", {"order_id": order_id}) in fake.broker_requests
    assert fake.desk.orders[order_id]["status"] == "cancelled"
    assert result.status is OrderStatus.UNKNOWN and "no final status after 0.2 s; cancelled the rest" in str(
        result.message
    )
    assert made.order_updates == "polling (no portfolio stream)" and polls(fake) > 0
    await made.close()


async def test_a_partial_fill_still_open_at_the_timeout_has_its_rest_cancelled(
    fake: FakeUpstox, token_file: Path
) -> None:
    made = make_broker(fake, token_file, fill_timeout=0.3)
    await made.connect()
    await streaming(made)
    fake.desk.script(Outcome("hold"))
    placing = asyncio.create_task(made.place_order(buy(10)))
    await fake.wait_for(lambda: len(fake.desk.updates) == 1)
    (order_id,) = fake.desk.orders
    fake.desk.partial(order_id, 4, 2899.0)
    result = await asyncio.wait_for(placing, 5)
    assert (result.status, result.filled_qty, result.avg_price) == (OrderStatus.PARTIAL, 4, 2899.0)
    assert fake.desk.orders[order_id]["status"] == "cancelled"
    assert result.message == f"filled 4 of 10; no final status after 0.3 s; cancelled the rest ({order_id})"
    assert polls(fake) == 0
    await made.close()


async def test_the_stream_down_means_polling_and_back_to_the_stream(
    fake: FakeUpstox, broker: UpstoxBroker, token_file: Path
) -> None:
    assert broker.stream is not None
    reconnects: list[str] = []
    broker.add_reconnect_listener(reconnects.append)  # the trading service reconciles on each
    fake.refuse_portfolio = True
    fake.drop_portfolio()
    await asyncio.wait_for(broker.stream.wait(lambda s: not s.up), 5)
    assert broker.order_updates.startswith("polling (stream down: ")

    # Down: the order's end is learnt from its details (the update went nowhere).
    fake.desk.script(Outcome("hold"))
    placing = asyncio.create_task(broker.place_order(buy()))
    await fake.wait_for(lambda: bool(fake.desk.orders) and polls(fake) > 0)
    (order_id,) = fake.desk.orders
    fake.desk.complete(order_id, 2905.0)
    result = await asyncio.wait_for(placing, 5)
    assert (result.status, result.filled_qty, result.avg_price) == (OrderStatus.FILLED, 10, 2905.0)

    # Back: with a renewed token, read again for the reconnect; updates from the stream again.
    token_file.write_text("renewed-token\n")
    fake.tokens = {"renewed-token"}
    fake.refuse_portfolio = False
    await streaming(broker)
    assert fake.portfolio_tokens[-1] == "renewed-token" and broker.stream.connections == 2
    assert len(reconnects) == 1 and reconnects[0].startswith("the portfolio stream reconnected")
    before = polls(fake)
    result = await broker.place_order(buy(order_id=8))
    assert result.status is OrderStatus.FILLED and polls(fake) == before


async def test_a_dropped_stream_while_an_order_waits_falls_back_to_polling(
    fake: FakeUpstox, broker: UpstoxBroker
) -> None:
    fake.desk.script(Outcome("hold"))
    placing = asyncio.create_task(broker.place_order(buy()))
    await fake.wait_for(lambda: len(fake.desk.updates) == 1)  # accepted, open
    fake.refuse_portfolio = True
    fake.drop_portfolio()
    (order_id,) = fake.desk.orders
    fake.desk.complete(order_id)  # while nobody listens
    result = await asyncio.wait_for(placing, 5)
    assert result.status is OrderStatus.FILLED and polls(fake) > 0


async def test_modify_and_cancel_on_the_order_host(fake: FakeUpstox, broker: UpstoxBroker) -> None:
    fake.desk.script(Outcome("hold"))
    placing = asyncio.create_task(broker.place_order(buy()))
    await fake.wait_for(lambda: len(fake.desk.updates) == 1)
    (order_id,) = fake.desk.orders
    await broker.modify_order(order_id, qty=10, order_type="SL-M", trigger_price=2850.0)
    assert fake.desk.orders[order_id]["order_type"] == "SL-M"
    assert fake.desk.orders[order_id]["trigger_price"] == 2850.0
    await broker.cancel_order(order_id)
    result = await asyncio.wait_for(placing, 5)  # the cancel's update ends the waiting order
    assert (result.status, result.filled_qty) == (OrderStatus.REJECTED, 0)
    assert [(m, p) for m, p, _ in fake.broker_requests if p.startswith("/v3/")] == [
        ("POST", "/v3/order/place"),
        ("PUT", "/v3/order/modify"),
        ("DELETE", "/v3/order/cancel"),
    ]


async def test_an_sl_m_stop_rests_moves_and_its_cancel_is_confirmed_or_found_filled(
    fake: FakeUpstox, token_file: Path
) -> None:
    made = make_broker(fake, token_file, fill_timeout=0.3)
    await made.connect()
    await streaming(made)
    ended: list[int] = []
    made.add_stop_listener(ended.append)
    try:
        stop = OrderRequest(21, RELIANCE, Side.SELL, 10, 2850.0, 0)  # `price`: the trigger
        order_id = await made.place_stop(stop)
        body = fake.placed[-1]
        assert (body["order_type"], body["trigger_price"], body["price"], body["slice"], body["tag"]) == (
            "SL-M",
            2850.0,
            0,
            False,
            "sd-21",
        )
        assert await made.stop_state(order_id, stop) is None  # trigger pending: it works
        await made.move_stop(order_id, dataclasses.replace(stop, price=2860.0))
        assert fake.desk.orders[order_id]["trigger_price"] == 2860.0
        cancelled = await made.cancel_stop(order_id, stop)  # confirmed by the stream's update
        assert (cancelled.status, cancelled.filled_qty) == (OrderStatus.CANCELLED, 0)

        second = dataclasses.replace(stop, client_order_id=22)
        second_id = await made.place_stop(second)
        assert fake.desk.trigger_stops(2840.0) == [second_id]
        await polled(lambda: ended == [22], 5)  # nobody waited on it: the stop listener hears it
        filled = await made.cancel_stop(second_id, second)  # refused (complete): looked up
        assert (filled.status, filled.filled_qty, filled.avg_price) == (OrderStatus.FILLED, 10, 2840.0)

        third = dataclasses.replace(stop, client_order_id=23)
        third_id = await made.place_stop(third)
        fake.desk.refuse_cancels = True
        unknown = await made.cancel_stop(third_id, third)
        assert unknown.status is OrderStatus.UNKNOWN
        assert str(unknown.message).endswith("HTTP 400: Something went wrong) and the stop still works")
        assert fake.desk.orders[third_id]["status"] == "trigger pending"
    finally:
        await made.close()


async def test_an_unknown_token_is_named(fake: FakeUpstox, token_file: Path) -> None:
    token_file.write_text("stale-token\n")
    made = upstox_broker(settings(fake, token_file), CostModel())
    with pytest.raises(BrokerError, match="HTTP 401: token expired or invalid: Invalid token"):
        await made.connect()
    await made.close()


# --- what the engine makes of the outcomes -------------------------------------------------


async def engine_entry(broker: UpstoxBroker) -> list[tuple[str, dict[str, Any]]]:
    desk = await make_desk(venue=broker, safe_mode=False, live_enabled=True)
    await desk.warm(PRICES)
    desk.calibrate(RELIANCE)
    desk.predict(RELIANCE, 0.01)
    return await desk.bar(PRICES)


async def test_the_engine_opens_a_partly_filled_entry_and_says_so(fake: FakeUpstox, broker: UpstoxBroker) -> None:
    fake.desk.script(Outcome("partial_then_cancel"))
    events = await engine_entry(broker)
    (order_id,) = fake.desk.orders
    filled = fake.desk.orders[order_id]["filled_quantity"]
    (entry,) = [p for t, p in events if t == "hft.entry"]
    (error,) = [p["error"] for t, p in events if t == "hft.manage_error"]
    assert entry["qty"] == filled
    assert error.startswith("entry order 1 for NSE_EQ|INE002A01018 partial (filled ")
    assert f"opened with the {filled} filled" in error and "Cancelled by exchange" in error


async def test_the_engine_reports_a_rejection_after_the_accept(fake: FakeUpstox, broker: UpstoxBroker) -> None:
    fake.desk.script(Outcome("reject", message="RMS: Margin Exceeds"))
    events = await engine_entry(broker)
    assert [t for t, _ in events if t == "hft.entry"] == []
    (error,) = [p["error"] for t, p in events if t == "hft.manage_error"]
    assert error.startswith("entry order 1 for NSE_EQ|INE002A01018 rejected: filled 0 of")
    assert "RMS: Margin Exceeds" in error


async def test_an_order_without_a_final_status_is_unknown_and_halts_the_engine(
    fake: FakeUpstox, token_file: Path
) -> None:
    made = make_broker(fake, token_file, fill_timeout=0.1)
    await made.connect()
    fake.desk.script(Outcome("hold"))
    desk = await make_desk(venue=made, safe_mode=False, live_enabled=True)
    await desk.warm(PRICES)
    desk.calibrate(RELIANCE)
    desk.predict(RELIANCE, 0.01)
    events = await desk.bar(PRICES)
    assert [t for t, _ in events] == ["hft.error", "hft.state", "hft.manage_error"]
    assert "unknown outcome at upstox" in events[0][1]["error"]
    assert events[1][1]["state"] == "halted" and "unknown outcome" in events[1][1]["halted_reason"]
    (order,) = desk.journal.rows("hft_orders")
    assert order["status"] == "unknown" and order["broker_order_id"] == next(iter(fake.desk.orders))
    await made.close()


async def test_the_gate_stops_an_order_at_the_last_moment_when_a_key_is_off(
    fake: FakeUpstox, broker: UpstoxBroker
) -> None:
    desk = await make_desk(venue=broker, safe_mode=True, live_enabled=True)  # a live venue in safe mode: a bug upstream
    await desk.warm(PRICES)
    desk.calibrate(RELIANCE)
    desk.predict(RELIANCE, 0.01)
    events = await desk.bar(PRICES)
    assert events[0][0] == "hft.error" and "safe mode on; refused; halted" in events[0][1]["error"]
    assert events[1] == ("hft.state", {**events[1][1], "state": "halted", "broker": "upstox", "safe_mode": True})
    assert fake.placed == [] and not [p for m, p, _ in fake.broker_requests if m != "GET"]  # reads only: no order
