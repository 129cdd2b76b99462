"""Stops held at the broker (SIGNALDESK_HFT_BROKER_STOPS) on the real service, Upstox played by
the fake on loopback: the SL-M placed once the entry filled, moved when the stop trails (only
tighter), cancelled and confirmed before any exit of the engine's own; the race where the stop
filled while its cancel was in flight closes the trade at the broker's fill with no exit sent."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from app.trading.gate import LiveGate
from app.trading.state import EngineState
from app.trading.trades import Trade
from tests.market.upstox.fake import FakeUpstox
from tests.trading.conftest import UPSTOX_TOKEN
from tests.trading.rig import Rig, make_rig, upstox_rig
from tests.trading.stubs import INFY, RELIANCE, TCS

PRICES = {RELIANCE: 2900.0, TCS: 3900.0, INFY: 1500.0}
PLACE, MODIFY, CANCEL = ("POST", "/v3/order/place"), ("PUT", "/v3/order/modify"), ("DELETE", "/v3/order/cancel")


async def entered(tmp_path: Path, fake: FakeUpstox, **overrides: Any) -> tuple[Rig, Trade]:
    """A live run with broker stops, one RELIANCE trade open at the fake (filled at 2900)."""
    rig = await upstox_rig(tmp_path, fake, UPSTOX_TOKEN, hft_broker_stops=True, hft_reconcile_interval=0, **overrides)
    await rig.warm(PRICES)
    await rig.predict(RELIANCE, 0.01)
    await rig.bar(PRICES)
    engine = rig.service.engine
    assert engine is not None
    (trade,) = engine.book.open.values()
    return rig, trade


async def stop_row(rig: Rig) -> dict[str, Any]:
    """The run's one stop order, as the journal stored it."""
    (row,) = [o for o in await rig.service.store.orders() if o["purpose"] == "stop"]
    return row


def writes(fake: FakeUpstox, since: int = 0) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _ in fake.broker_requests[since:] if m != "GET"]


async def test_the_entry_fill_puts_an_sl_m_at_the_engine_s_stop_moved_only_when_it_tightens(
    tmp_path: Path, fake_upstox: FakeUpstox
) -> None:
    rig, trade = await entered(tmp_path, fake_upstox, hft_trail_vol=1.0)
    try:
        (stop,) = fake_upstox.desk.stops()
        assert (stop["order_type"], stop["transaction_type"], stop["quantity"]) == ("SL-M", "SELL", trade.qty)
        assert stop["trigger_price"] == trade.stop < 2900 and stop["product"] == "I"
        row = await stop_row(rig)
        assert stop["tag"] == f"sd-{row['order_id']}" and row["trade_id"] == trade.trade_id
        assert (row["status"], row["broker_order_id"], row["price"]) == ("submitted", stop["order_id"], trade.stop)
        status = rig.service.status()
        assert status["stops"] == "broker" and "stops_note" not in status

        before, first = len(fake_upstox.broker_requests), trade.stop
        await rig.bar({**PRICES, RELIANCE: 2896.0})  # lower: the stop does not loosen
        await rig.bar({**PRICES, RELIANCE: 2908.0})  # higher: it trails
        assert trade.stop > first and writes(fake_upstox, before) == [MODIFY]
        (_, _, body) = [r for r in fake_upstox.broker_requests if r[:2] == MODIFY][0]
        assert body is not None and (body["order_id"], body["order_type"]) == (stop["order_id"], "SL-M")
        assert fake_upstox.desk.orders[stop["order_id"]]["trigger_price"] == trade.stop
        row = await stop_row(rig)
        assert row["price"] == trade.stop
        assert rig.watch.of("hft.manage_error") == []
    finally:
        await rig.close()


async def test_a_stop_placed_without_an_answer_is_found_in_the_order_book_not_placed_twice(
    tmp_path: Path, fake_upstox: FakeUpstox
) -> None:
    """Upstox rested the SL-M but its answer was lost (a 500): the broker finds the stop by its
    tag in the order book and the engine follows that one; the next reconciliation places none."""
    fake_upstox.desk.lose_stop_answers = True
    rig, trade = await entered(tmp_path, fake_upstox)
    try:
        (stop,) = fake_upstox.desk.stops()
        row = await stop_row(rig)
        assert (row["status"], row["broker_order_id"]) == ("submitted", stop["order_id"])
        assert rig.watch.of("hft.manage_error") == []
        engine = rig.service.engine
        assert engine is not None and engine.stops is not None
        await engine.stops.reconcile(trade.entry_ts)
        assert len(fake_upstox.desk.stops()) == 1 and len(fake_upstox.desk.places) == 2  # the entry, one stop
    finally:
        await rig.close()


async def test_an_exit_cancels_the_broker_stop_and_waits_for_it_before_selling(
    tmp_path: Path, fake_upstox: FakeUpstox
) -> None:
    rig, trade = await entered(tmp_path, fake_upstox)
    try:
        (stop,) = fake_upstox.desk.stops()
        before = len(fake_upstox.broker_requests)
        outcome = await rig.service.flatten("by hand")
        assert (outcome.closed, outcome.errors) == (1, [])
        assert writes(fake_upstox, before) == [CANCEL, PLACE]  # the cancel confirmed, then the exit
        assert fake_upstox.desk.orders[stop["order_id"]]["status"] == "cancelled"
        assert fake_upstox.placed[-1]["order_type"] == "MARKET" and fake_upstox.placed[-1]["transaction_type"] == "SELL"
        assert rig.watch.of("hft.exit")[-1]["reason"] == "flatten" and RELIANCE not in fake_upstox.account.positions()
        row = await stop_row(rig)
        assert row["status"] == "cancelled" and row["filled_qty"] == 0
    finally:
        await rig.close()


async def test_a_stop_that_fills_while_its_cancel_is_in_flight_closes_the_trade_with_no_exit_sent(
    tmp_path: Path, fake_upstox: FakeUpstox
) -> None:
    rig, trade = await entered(tmp_path, fake_upstox)
    try:
        (stop,) = fake_upstox.desk.stops()
        fake_upstox.desk.late_cancels = True  # the exchange fills it before the cancel reaches it
        before = len(fake_upstox.placed)
        outcome = await rig.service.flatten("by hand")

        assert outcome.closed == 1 and len(fake_upstox.placed) == before  # no exit order: never sold twice
        (exit_,) = rig.watch.of("hft.exit")
        assert (exit_["reason"], exit_["price"]) == ("stop", stop["trigger_price"])
        (error,) = rig.watch.of("hft.manage_error")
        assert f"({stop['order_id']}) of trade {trade.trade_id} filled {trade.qty} at" in error["error"]
        assert error["error"].endswith("before its cancel; the trade closed at the broker's fill (stop), no exit sent")
        assert RELIANCE not in fake_upstox.account.positions()  # flat: the stop sold it
        row = await stop_row(rig)
        assert (row["status"], row["filled_qty"], row["fill_price"]) == ("filled", trade.qty, stop["trigger_price"])
    finally:
        await rig.close()


async def test_a_cancel_that_is_not_confirmed_sends_no_exit_and_the_next_bar_tries_again(
    tmp_path: Path, fake_upstox: FakeUpstox
) -> None:
    rig, trade = await entered(tmp_path, fake_upstox)
    try:
        (stop,) = fake_upstox.desk.stops()
        fake_upstox.desk.refuse_cancels = True
        before = len(fake_upstox.placed)
        outcome = await rig.service.flatten("by hand")

        assert outcome.closed == 0 and len(fake_upstox.placed) == before  # no blind exit
        (error,) = rig.watch.of("hft.manage_error")
        assert error["error"].startswith(
            f"exit (flatten) of trade {trade.trade_id} ({RELIANCE}): the cancel of broker stop order "
        )
        assert (
            f"({stop['order_id']}) of trade {trade.trade_id} was not confirmed (the cancel was refused"
            in error["error"]
        )
        assert error["error"].endswith("no exit sent, tried again at the next bar") and outcome.errors == [
            error["error"]
        ]
        assert (
            trade.exit_pending == "flatten" and fake_upstox.desk.orders[stop["order_id"]]["status"] == "trigger pending"
        )

        fake_upstox.desk.refuse_cancels = False
        await rig.bar(PRICES)  # the exit is tried again at the open: cancelled, then sold
        assert rig.watch.of("hft.exit")[-1]["reason"] == "flatten" and RELIANCE not in fake_upstox.account.positions()
        assert fake_upstox.desk.orders[stop["order_id"]]["status"] == "cancelled"
    finally:
        await rig.close()


async def test_with_the_setting_off_no_stop_is_placed_and_on_paper_it_is_ignored(
    tmp_path: Path, fake_upstox: FakeUpstox
) -> None:
    rig = await upstox_rig(tmp_path / "off", fake_upstox, UPSTOX_TOKEN, hft_reconcile_interval=0)
    try:
        await rig.warm(PRICES)
        await rig.predict(RELIANCE, 0.01)
        await rig.bar(PRICES)
        assert len(rig.watch.of("hft.entry")) == 1
        assert fake_upstox.desk.stops() == [] and [o["order_type"] for o in fake_upstox.placed] == ["MARKET"]
        status = rig.service.status()
        assert status["stops"] == "engine" and "stops_note" not in status  # off: nothing to explain
    finally:
        await rig.close()
    paper = await make_rig(tmp_path / "paper", hft_broker_stops=True)
    try:
        await paper.service.start()
        engine = paper.service.engine
        assert engine is not None and engine.stops is None
        status = paper.service.status()  # the status says the setting is not in effect, and why
        assert status["stops"] == "engine"
        assert status["stops_note"].startswith("SIGNALDESK_HFT_BROKER_STOPS is on, but the paper venue holds no stops")
    finally:
        await paper.close()


@pytest.mark.parametrize("key", ["live_trading_enabled", "safe_mode"])
async def test_the_gate_s_last_check_keeps_every_stop_request_from_upstox(
    tmp_path: Path, fake_upstox: FakeUpstox, key: str
) -> None:
    """A key turned off under a live run (a path that skipped the venue's choice): the stop is
    neither moved nor cancelled at Upstox, no exit goes out, and the engine halts."""
    rig, trade = await entered(tmp_path, fake_upstox, hft_trail_vol=1.0)
    try:
        engine = rig.service.engine
        assert engine is not None
        if key == "live_trading_enabled":
            engine.gate = LiveGate(live_trading_enabled=False)
        else:
            engine.run = dataclasses.replace(engine.run, safe_mode=True)
        before, first = len(fake_upstox.broker_requests), trade.stop
        await rig.bar({**PRICES, RELIANCE: 2908.0})  # the stop trails: its move is refused
        outcome = await rig.service.flatten("by hand")  # its cancel is refused: no exit either

        assert writes(fake_upstox, before) == []  # not one request reached the fake
        assert trade.stop > first and outcome.closed == 0 and len(outcome.errors) == 1
        assert engine.state is EngineState.HALTED and "refused" in str(engine.halted_reason)
        (stop,) = fake_upstox.desk.stops()
        assert stop["trigger_price"] == first  # still resting where it was: the position keeps it
    finally:
        await rig.close()


async def test_at_start_up_an_open_trade_without_a_working_stop_gets_one(
    tmp_path: Path, fake_upstox: FakeUpstox
) -> None:
    rig = await upstox_rig(tmp_path, fake_upstox, UPSTOX_TOKEN, hft_reconcile_interval=0)  # broker stops off
    try:
        await rig.warm(PRICES)
        await rig.predict(RELIANCE, 0.01)
        await rig.bar(PRICES)
        assert len(rig.watch.of("hft.entry")) == 1 and fake_upstox.desk.stops() == []
    finally:
        await rig.close()
    rig = await upstox_rig(tmp_path, fake_upstox, UPSTOX_TOKEN, hft_broker_stops=True, hft_reconcile_interval=0)
    try:
        await rig.bar(PRICES)  # the first bar: reconciled
        engine = rig.service.engine
        assert engine is not None
        (trade,) = engine.book.open.values()
        (stop,) = fake_upstox.desk.stops()
        assert (stop["transaction_type"], stop["quantity"], stop["trigger_price"]) == ("SELL", trade.qty, trade.stop)
        assert rig.watch.of("hft.manage_error") == []  # the position matches: nothing else to say
    finally:
        await rig.close()
