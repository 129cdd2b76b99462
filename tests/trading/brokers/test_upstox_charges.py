"""Upstox's own charges of a fill, against the fake Upstox on loopback: the broker tells its fill
listeners what each order filled, and asks the brokerage API (`GET /v2/charges/brokerage`) about
a fill; an answer without a readable figure is a BrokerError naming the field and value."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.core.config import Settings
from app.trading.brokers.base import Fill
from app.trading.brokers.upstox import UpstoxBroker
from app.trading.costs import CostModel
from app.trading.enums import OrderStatus, Side
from app.trading.errors import BrokerError, NotConnected
from app.trading.orders import OrderRequest
from app.trading.system import upstox_broker
from tests.market.upstox.fake import FakeUpstox
from tests.market.upstox.fake_account import brokerage
from tests.market.upstox.fake_orders import Outcome
from tests.trading.stubs import RELIANCE

FILL = Fill(7, RELIANCE, Side.SELL, 10, 2900.5)


@pytest.fixture
async def broker(fake: FakeUpstox, token_file: Path) -> AsyncIterator[UpstoxBroker]:
    """The broker the server builds (orders followed by polling: no stream needed here), connected."""
    made = upstox_broker(
        Settings(upstox_base_url=fake.url, upstox_order_url=fake.order_url, upstox_access_token_file=token_file),
        CostModel(),
    )
    await made.connect()
    yield made
    await made.close()


async def test_each_order_that_filled_is_heard_with_what_filled_and_upstox_prices_that(
    fake: FakeUpstox, broker: UpstoxBroker
) -> None:
    heard: list[Fill] = []
    remove = broker.add_fill_listener(heard.append)
    fake.desk.script(Outcome(slices=2))  # slice 1 fills 1 rupee higher: an average of the two
    result = await broker.place_order(OrderRequest(7, RELIANCE, Side.SELL, 10, 2900.0, 0))
    assert result.status is OrderStatus.FILLED and result.avg_price == 2900.5
    assert heard == [FILL]

    charges = await broker.fill_charges(FILL)
    query = {"instrument_token": RELIANCE, "quantity": "10", "product": "I", "transaction_type": "SELL"}
    assert fake.account.brokerage_requests == [{**query, "price": "2900.5"}]
    assert charges == brokerage({**query, "price": "2900.5"})["charges"]["total"]
    assert charges != result.charges  # Upstox's figure, not the cost model's estimate

    fake.desk.script(Outcome("reject", message="RMS: Margin Exceeds"))
    assert (await broker.place_order(OrderRequest(8, RELIANCE, Side.BUY, 10, 2900.0, 0))).filled_qty == 0
    remove()
    assert (await broker.place_order(OrderRequest(9, RELIANCE, Side.BUY, 10, 2900.0, 0))).filled_qty == 10
    assert heard == [FILL]  # nothing of the rejection, nor after the listener was removed


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ({"charges": {"total": "lots"}}, "data.charges.total is 'lots'"),
        ({"charges": {"total": -1.5}}, "data.charges.total is -1.5"),
        ({"charges": {"total": True}}, "data.charges.total is True"),
        ({"charge": {"total": 20.0}}, "data.charges.total is None"),
        ([], "data.charges.total is None"),
    ],
)
async def test_an_answer_without_a_readable_figure_is_a_broker_error_naming_it(
    fake: FakeUpstox, broker: UpstoxBroker, answer: object, shown: str
) -> None:
    fake.account.brokerage_answer = answer
    with pytest.raises(BrokerError) as caught:
        await broker.fill_charges(FILL)
    assert caught.value.message.startswith(f"brokerage of order 7: {shown}, not a number of rupees >= 0")


async def test_a_refusal_is_a_broker_error_and_a_closed_broker_asks_nothing(
    fake: FakeUpstox, broker: UpstoxBroker
) -> None:
    fake.account.brokerage_error = (400, "Invalid instrument key")
    with pytest.raises(BrokerError) as caught:
        await broker.fill_charges(FILL)
    assert caught.value.message == "GET /v2/charges/brokerage: HTTP 400: Invalid instrument key"
    await broker.close()
    with pytest.raises(NotConnected):
        await broker.fill_charges(FILL)
    assert len(fake.account.brokerage_requests) == 1
