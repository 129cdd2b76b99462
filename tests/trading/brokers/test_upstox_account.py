"""The Upstox broker's account calls used by reconciliation and the kill switch, against the fake
Upstox on loopback: what it sends, what it makes of the answers, bad answers named."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.trading.brokers.base import OpenOrder
from app.trading.brokers.upstox import UpstoxBroker
from app.trading.costs import CostModel
from app.trading.enums import Side
from app.trading.errors import BrokerError
from tests.market.upstox.fake import FakeUpstox
from tests.trading.conftest import UPSTOX_TOKEN
from tests.trading.rig import upstox_transport
from tests.trading.stubs import INFY, RELIANCE


@pytest.fixture
async def broker(fake_upstox: FakeUpstox) -> AsyncIterator[UpstoxBroker]:
    broker = UpstoxBroker(transport=upstox_transport(fake_upstox, UPSTOX_TOKEN), costs=CostModel())
    await broker.connect()
    yield broker
    await broker.close()


async def test_the_kill_switch_disables_each_segment_asked_and_checks_the_answer(
    fake_upstox: FakeUpstox, broker: UpstoxBroker
) -> None:
    await broker.kill_switch(["NSE_EQ", "BSE_EQ"])
    assert fake_upstox.account.kill_switch_requests == [
        [{"segment": "NSE_EQ", "action": "DISABLE"}, {"segment": "BSE_EQ", "action": "DISABLE"}]
    ]
    assert (
        fake_upstox.account.kill_switch["NSE_EQ"]
        and fake_upstox.account.kill_switch["BSE_EQ"]
        and not fake_upstox.account.kill_switch["NSE_FO"]
    )

    fake_upstox.account.kill_switch_answer = [
        {"segment": "NSE_EQ", "segment_status": "ACTIVE", "kill_switch_enabled": False}
    ]
    with pytest.raises(BrokerError, match="not confirmed engaged for NSE_EQ"):
        await broker.kill_switch(["NSE_EQ"])
    fake_upstox.account.kill_switch_answer = "done"
    with pytest.raises(BrokerError, match="not confirmed engaged for NSE_EQ"):
        await broker.kill_switch(["NSE_EQ"])


async def test_the_kill_switch_refusal_of_upstox_is_said(fake_upstox: FakeUpstox, broker: UpstoxBroker) -> None:
    fake_upstox.account.outside[RELIANCE] = 10
    with pytest.raises(BrokerError, match="HTTP 400: close the open positions in NSE_EQ first"):
        await broker.kill_switch(["NSE_EQ"])
    assert not fake_upstox.account.kill_switch["NSE_EQ"]


async def test_open_orders_are_the_working_ones_with_the_engine_id_read_from_the_tag(
    fake_upstox: FakeUpstox, broker: UpstoxBroker
) -> None:
    mine = fake_upstox.desk.working_order(RELIANCE, "SELL", 10, tag="sd-42")
    theirs = fake_upstox.desk.working_order(INFY, "BUY", 5, tag="by-hand")
    untagged = fake_upstox.desk.working_order(INFY, "BUY", 2)
    done = fake_upstox.desk.working_order(INFY, "BUY", 1)
    await broker.cancel_order(done)
    assert await broker.open_orders() == [
        OpenOrder(mine, RELIANCE, Side.SELL, 10, 42),
        OpenOrder(theirs, INFY, Side.BUY, 5, None),
        OpenOrder(untagged, INFY, Side.BUY, 2, None),
    ]


@pytest.mark.parametrize(
    ("row", "said"),
    [
        ("an order", "not an object"),
        ({"order_id": "X1", "status": "open", "instrument_token": RELIANCE, "quantity": 1}, "transaction_type"),
        (
            {
                "order_id": "X1",
                "status": "open",
                "instrument_token": RELIANCE,
                "transaction_type": "HOLD",
                "quantity": 1,
            },
            "HOLD",
        ),
    ],
)
async def test_an_order_book_row_it_cannot_read_is_named(
    fake_upstox: FakeUpstox, broker: UpstoxBroker, row: object, said: str
) -> None:
    fake_upstox.account.order_book_extra = [row]
    with pytest.raises(BrokerError, match="order book") as error:
        await broker.open_orders()
    assert said in str(error.value)
