"""The paper broker: fills, slippage on the tick, partial fills, funds, and a ledger that survives restarts."""

from __future__ import annotations

import pytest

from app.storage.db import Database
from app.trading.brokers.paper import PaperBroker, PaperConfig, PaperState
from app.trading.costs import CostModel
from app.trading.enums import OrderStatus, Side
from app.trading.errors import NotConnected
from app.trading.memory_journal import MemoryJournal
from app.trading.orders import OrderRequest
from app.trading.store import TradeStore
from app.trading.system import build_journal

KEY = "NSE_EQ|INE002A01018"


async def paper(config: PaperConfig, state: PaperState | None = None) -> PaperBroker:
    async def load() -> PaperState | None:
        return state

    broker = PaperBroker(config=config, costs=CostModel(), journal=MemoryJournal(), load=load)
    await broker.connect()
    return broker


async def test_market_orders_fill_at_the_price_moved_by_slippage_onto_the_tick_against_them() -> None:
    broker = await paper(PaperConfig(slippage_bps=2.0))
    buy = await broker.place_order(OrderRequest(1, KEY, Side.BUY, 10, 2900.0, 0))
    assert (buy.status, buy.filled_qty, buy.avg_price) == (OrderStatus.FILLED, 10, 2900.6)  # 2900.58 up to the tick
    assert buy.charges == pytest.approx(CostModel().charges(Side.BUY, 10, 2900.6).total)
    sell = await broker.place_order(OrderRequest(2, KEY, Side.SELL, 10, 2900.0, 0))
    assert sell.avg_price == 2899.4  # 2899.42 down to the tick
    funds = await broker.funds()
    assert funds.realized == pytest.approx(10 * (2899.4 - 2900.6))
    assert funds.charges == pytest.approx(buy.charges + sell.charges)
    assert await broker.positions() == {}


async def test_partial_fills_and_positions_through_zero() -> None:
    broker = await paper(PaperConfig(slippage_bps=0.0, fill_ratio=0.5))
    result = await broker.place_order(OrderRequest(1, KEY, Side.SELL, 9, 100.0, 0))
    assert (result.status, result.filled_qty, result.message) == (OrderStatus.PARTIAL, 4, "5 of 9 cancelled")
    assert (await broker.positions())[KEY].qty == -4
    await broker.place_order(OrderRequest(2, KEY, Side.BUY, 20, 110.0, 0))  # 10 fill: covers 4, opens 6 long at 110
    position = (await broker.positions())[KEY]
    assert (position.qty, position.avg_price) == (6, 110.0)
    assert (await broker.funds()).realized == pytest.approx(4 * (100.0 - 110.0))


async def test_orders_that_would_open_more_than_the_funds_are_rejected_reductions_never() -> None:
    broker = await paper(PaperConfig(capital=100_000.0, slippage_bps=0.0))
    assert (await broker.place_order(OrderRequest(1, KEY, Side.BUY, 30, 3000.0, 0))).status is OrderStatus.FILLED
    rejected = await broker.place_order(OrderRequest(2, KEY, Side.BUY, 10, 3000.0, 0))
    assert rejected.status is OrderStatus.REJECTED and "insufficient funds" in (rejected.message or "")
    assert (await broker.place_order(OrderRequest(3, KEY, Side.SELL, 30, 3000.0, 0))).status is OrderStatus.FILLED
    await broker.close()
    with pytest.raises(NotConnected):
        await broker.positions()


async def test_the_ledger_survives_a_restart(database: Database) -> None:
    """On SQLite and PostgreSQL (tests/conftest.py), with the journal a server builds for each."""
    store = TradeStore(database)
    journal = build_journal(database)
    try:
        broker = PaperBroker(
            config=PaperConfig(slippage_bps=0.0), costs=CostModel(), journal=journal, load=store.paper_state
        )
        await broker.connect()
        await broker.place_order(OrderRequest(1, KEY, Side.BUY, 15, 2900.0, 0))
        await broker.place_order(OrderRequest(2, "NSE_EQ|X", Side.SELL, 5, 50.0, 0))
        await journal.flush()
        before = (await broker.positions(), await broker.funds())

        again = PaperBroker(config=PaperConfig(), costs=CostModel(), journal=journal, load=store.paper_state)
        await again.connect()
        assert (await again.positions(), await again.funds()) == before
        assert (await again.place_order(OrderRequest(3, KEY, Side.SELL, 15, 2900.0, 0))).broker_order_id == "paper-3"
    finally:
        await journal.close()
