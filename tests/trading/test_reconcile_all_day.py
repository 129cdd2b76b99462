"""Reconciliation all day, on the real service: every SIGNALDESK_HFT_RECONCILE_INTERVAL seconds
and on request (`request_reconcile`, the hook a broker stream's reconnect calls), the broker's
positions are compared with the engine's open trades, at the latest prices, by the one rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.trading.engine import TradingEngine
from app.trading.enums import Side
from app.trading.orders import OrderRequest
from tests.market.upstox.fake import FakeUpstox
from tests.support.cli import signaldesk
from tests.support.waits import polled
from tests.trading.conftest import UPSTOX_TOKEN
from tests.trading.rig import Rig, make_rig, upstox_rig
from tests.trading.stubs import INFY, RELIANCE, TCS

PRICES = {RELIANCE: 2900.0, TCS: 3900.0, INFY: 1500.0}


async def reconciled(engine: TradingEngine, count: int, timeout: float = 10.0) -> None:
    """Until the engine has carried out `count` reconciliations (the start-up one included)."""
    await polled(lambda: engine.reconciled >= count, timeout)


async def started(rig: Rig) -> TradingEngine:
    """The rig's run started (on paper) and warmed up: the start-up reconciliation is done."""
    await rig.service.start()
    await rig.warm(PRICES)
    engine = rig.service.engine
    assert engine is not None
    return engine


async def open_outside_the_engine(rig: Rig, key: str, qty: int) -> None:
    """A position the engine knows nothing of: an order placed on the venue directly."""
    engine = rig.service.engine
    assert engine is not None
    result = await engine.venue.place_order(OrderRequest(9000, key, Side.BUY, qty, PRICES[key], rig.now))
    assert result.filled_qty == qty


async def test_the_periodic_reconciliation_makes_a_position_opened_outside_the_engine_flat(
    tmp_path: Path, database_url: str
) -> None:
    rig = await make_rig(tmp_path, database_url=database_url, hft_reconcile_interval=0.05)
    try:
        engine = await started(rig)  # the last bar closes TCS at 3900 x 1.001
        await open_outside_the_engine(rig, TCS, 30)
        await rig.watch.wait(lambda: bool(rig.watch.of("hft.manage_error")))

        (error,) = rig.watch.of("hft.manage_error")
        assert error["error"] == (
            f"reconcile {TCS}: the engine's open trades hold +0 shares, paper holds +30; "
            "squared off +30 at 3903.90 and closed 0 trade(s) there"
        )
        assert await engine.venue.positions() == {}
        (order,) = await rig.service.store.orders()
        assert (order["side"], order["qty"], order["reason"], order["trade_id"]) == ("sell", 30, "reconcile", None)
        assert rig.service.status()["state"] == "running"  # a resolved mismatch does not halt
        assert rig.watch.of("hft.error") == []
    finally:
        await rig.close()


async def test_when_broker_and_engine_agree_reconciling_all_day_changes_nothing(
    tmp_path: Path, database_url: str
) -> None:
    rig = await make_rig(tmp_path, database_url=database_url, hft_reconcile_interval=0.02)
    try:
        engine = await started(rig)
        await rig.predict(RELIANCE, 0.01)
        await rig.bar(PRICES)
        assert len(engine.book.open) == 1
        events, orders = len(rig.watch.events), engine.orders_sent
        await reconciled(engine, engine.reconciled + 5)

        assert rig.watch.events[events:] == [] and engine.orders_sent == orders
        assert len(engine.book.open) == 1 and (await engine.venue.positions())[RELIANCE].qty > 0
    finally:
        await rig.close()


async def test_a_requested_reconciliation_runs_at_once_and_none_runs_on_a_timer_at_interval_0(
    tmp_path: Path, database_url: str
) -> None:
    rig = await make_rig(tmp_path, database_url=database_url, hft_reconcile_interval=0)
    try:
        engine = await started(rig)
        assert engine.reconciled == 1  # at the first bar
        await open_outside_the_engine(rig, INFY, 10)
        for _ in range(3):
            await rig.bar(PRICES)
        assert engine.reconciled == 1 and rig.watch.of("hft.manage_error") == []

        rig.service.request_reconcile()  # what a broker stream's reconnect calls
        rig.service.request_reconcile()  # while one is pending: the same one
        await rig.watch.wait(lambda: bool(rig.watch.of("hft.manage_error")))
        assert "paper holds +10; squared off +10 at 1500.00" in rig.watch.of("hft.manage_error")[0]["error"]
        assert engine.reconciled == 2 and await engine.venue.positions() == {}
    finally:
        await rig.close()


async def test_a_broker_that_cannot_say_its_positions_during_the_day_is_reported_without_a_halt(
    tmp_path: Path, database_url: str
) -> None:
    rig = await make_rig(tmp_path, database_url=database_url, hft_reconcile_interval=0)
    try:
        engine = await started(rig)
        await engine.venue.close()  # the paper broker no longer answers: NotConnected
        rig.service.request_reconcile()
        await rig.watch.wait(lambda: bool(rig.watch.of("hft.error")))
        assert rig.watch.of("hft.error") == [
            {"error": "cannot reconcile with paper: not connected; the next reconciliation retries"}
        ]
        assert rig.service.status()["state"] == "running"
    finally:
        await rig.close()


async def test_at_upstox_a_position_and_an_open_order_the_engine_did_not_make_are_undone(
    tmp_path: Path, fake_upstox: FakeUpstox
) -> None:
    rig = await upstox_rig(tmp_path, fake_upstox, UPSTOX_TOKEN, hft_reconcile_interval=0)
    try:
        await rig.warm(PRICES)
        fake_upstox.account.outside[TCS] = 30  # bought by hand
        by_hand = fake_upstox.desk.working_order(INFY, "BUY", 5)
        engines = fake_upstox.desk.working_order(INFY, "SELL", 3, tag="sd-77")  # tagged with an engine order id
        elsewhere = fake_upstox.desk.working_order("NSE_EQ|INE848E01016", "BUY", 1)  # not in the engine's universe
        rig.service.request_reconcile()  # as the portfolio stream's reconnect does
        await rig.watch.wait(lambda: len(rig.watch.of("hft.manage_error")) == 2)

        assert [e["error"] for e in rig.watch.of("hft.manage_error")] == [
            f"reconcile {INFY}: upstox has an open order {by_hand} (buy 5) the engine did not place; cancelled",
            f"reconcile {TCS}: the engine's open trades hold +0 shares, upstox holds +30; "
            "squared off +30 at 2900.00 and closed 0 trade(s) there",
        ]
        assert [fake_upstox.desk.orders[o]["status"] for o in (by_hand, engines, elsewhere)] == [
            "cancelled",
            "open",
            "open",
        ]
        assert TCS not in fake_upstox.account.positions() and rig.service.status()["state"] == "running"
    finally:
        await rig.close()


async def test_an_open_order_that_cannot_be_cancelled_halts_the_engine(tmp_path: Path, fake_upstox: FakeUpstox) -> None:
    rig = await upstox_rig(tmp_path, fake_upstox, UPSTOX_TOKEN, hft_reconcile_interval=0)
    try:
        await rig.warm(PRICES)
        by_hand = fake_upstox.desk.working_order(TCS, "SELL", 5)
        fake_upstox.desk.refuse_cancels = True
        rig.service.request_reconcile()
        await rig.watch.wait(lambda: bool(rig.watch.of("hft.manage_error")) and bool(rig.watch.of("hft.state")[1:]))
        (error,) = rig.watch.of("hft.manage_error")
        assert error["error"].startswith(f"reconcile {TCS}: upstox has an open order {by_hand} (sell 5) the engine")
        assert "the cancel failed: DELETE" in error["error"]
        assert error["error"].endswith("HTTP 400: Something went wrong; halted")
        status = rig.service.status()
        assert status["state"] == "halted" and status["halted_reason"].endswith("the cancel failed")
        assert fake_upstox.desk.orders[by_hand]["status"] == "open"
    finally:
        await rig.close()


@pytest.mark.parametrize("value", ["-1", "soon"])
def test_a_bad_interval_is_named_at_start_up(value: str) -> None:
    answer = signaldesk("hft", "status", env={"SIGNALDESK_HFT_RECONCILE_INTERVAL": value})
    assert answer.returncode == 2 and "SIGNALDESK_HFT_RECONCILE_INTERVAL" in answer.stderr, answer.stderr
