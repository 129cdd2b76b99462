"""The broker's own charges of each live fill, on the real service against the fake Upstox:
fetched after the fill from the brokerage API and stored beside the cost model's estimate (read
back through the store and the trades route); a failing fetch leaves them null and the trade as
it was; paper trades have none."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from app.api.routes.hft import read_trades
from app.api.schemas.hft import TradeList
from app.trading.broker_charges import BrokerChargesRecorder
from app.trading.brokers.base import Fill, FillCharges
from app.trading.enums import Side
from app.trading.record import Period
from tests.market.upstox.fake import FakeUpstox
from tests.market.upstox.fake_account import BROKERAGE, brokerage
from tests.support.waits import polled
from tests.trading.conftest import UPSTOX_TOKEN
from tests.trading.rig import Rig, make_rig, upstox_rig
from tests.trading.stubs import INFY, RELIANCE, TCS

PRICES = {RELIANCE: 2900.0, TCS: 3900.0, INFY: 1500.0}


async def handled(recorder: BrokerChargesRecorder, count: int, timeout: float = 10.0) -> None:
    """Until the recorder has dealt with `count` fills (stored or failed)."""
    await polled(lambda: recorder.recorded + recorder.failed >= count, timeout)


async def entered(rig: Rig) -> BrokerChargesRecorder | None:
    """One entry on RELIANCE; the run's charges recorder (None: its venue has none)."""
    await rig.warm(PRICES)
    await rig.predict(RELIANCE, 0.01)
    await rig.bar(PRICES)
    assert len(rig.watch.of("hft.entry")) == 1
    return rig.service.charges_recorder


async def rest_trades(rig: Rig) -> list[dict[str, Any]]:
    """GET /api/hft/trades's answer, through its response model."""
    answer = await read_trades(rig.service, Period(), status=None, instrument_key=None, limit=500)
    return TradeList.model_validate(answer).model_dump()["trades"]


def upstox_figure(order: dict[str, Any]) -> float:
    """What the fake Upstox says an order's fill cost."""
    query = {
        "instrument_token": order["instrument_key"],
        "quantity": str(order["filled_qty"]),
        "product": "I",
        "transaction_type": order["side"].upper(),
        "price": str(order["fill_price"]),
    }
    return float(brokerage(query)["charges"]["total"])


async def test_a_live_trade_stores_the_brokers_charges_of_each_fill_beside_the_estimate(
    tmp_path: Path, fake_upstox: FakeUpstox, database_url: str
) -> None:
    rig = await upstox_rig(tmp_path, fake_upstox, UPSTOX_TOKEN, database_url=database_url)
    try:
        recorder = await entered(rig)
        assert recorder is not None
        await handled(recorder, 1)
        (entry,) = await rig.service.store.orders()
        assert entry["broker_charges"] == upstox_figure(entry)
        assert fake_upstox.account.brokerage_requests == [
            {
                "instrument_token": RELIANCE,
                "quantity": str(entry["filled_qty"]),
                "product": "I",
                "transaction_type": "BUY",
                "price": str(entry["fill_price"]),
            }
        ]
        (trade,) = await rest_trades(rig)
        assert trade["broker_charges"] == entry["broker_charges"]  # every fill of it known so far

        await rig.service.stop()  # flattens: the exit's charges are fetched before the run ends
        assert (recorder.recorded, recorder.failed) == (2, 0)
        orders = await rig.service.store.orders()
        assert [o["purpose"] for o in orders] == ["exit", "entry"]
        assert [o["broker_charges"] for o in orders] == [upstox_figure(o) for o in orders]
        (trade,) = await rest_trades(rig)
        assert trade["status"] == "closed"
        assert trade["broker_charges"] == sum(upstox_figure(o) for o in orders)
        assert trade["charges"] == sum(o["charges"] for o in orders)  # the estimate, beside it
        assert trade["broker_charges"] != trade["charges"]  # the fake's plan is not the cost model's
    finally:
        await rig.close()


async def test_a_failing_charges_call_leaves_them_null_the_trade_intact_and_the_next_run_fetches_them(
    tmp_path: Path, fake_upstox: FakeUpstox
) -> None:
    fake_upstox.account.brokerage_error = (500, "Something went wrong")
    rig = await upstox_rig(tmp_path, fake_upstox, UPSTOX_TOKEN)
    try:
        recorder = await entered(rig)
        assert recorder is not None
        await handled(recorder, 1)
        assert (recorder.recorded, recorder.failed) == (0, 1)
        assert ("GET", BROKERAGE) in fake_upstox.account.calls
        (entry,) = await rig.service.store.orders()
        assert entry["broker_charges"] is None and entry["status"] == "filled" and entry["charges"] > 0
        (trade,) = await rest_trades(rig)
        assert trade["status"] == "open" and trade["broker_charges"] is None
        assert trade["qty"] == entry["filled_qty"] and trade["charges"] == entry["charges"]
        assert rig.service.status()["state"] == "running" and rig.watch.of("hft.error") == []

        fake_upstox.account.brokerage_error = None
        await rig.service.stop()
        assert (recorder.recorded, recorder.failed) == (1, 1)
        exit_, entry = await rig.service.store.orders()
        assert exit_["broker_charges"] == upstox_figure(exit_) and entry["broker_charges"] is None
        (trade,) = await rest_trades(rig)
        assert trade["status"] == "closed" and trade["pnl"] is not None
        assert trade["broker_charges"] is None  # not the exit's alone: the entry's is not known

        # The next run on Upstox offers the entry's fill again: now the trade's figure is whole.
        await rig.service.start("upstox", safe_mode=False)
        again = rig.service.charges_recorder
        assert again is not None
        await handled(again, 1)
        assert (again.recorded, again.failed) == (1, 0)
        _, entry = await rig.service.store.orders()
        assert entry["broker_charges"] == upstox_figure(entry)
        (trade,) = await rest_trades(rig)
        assert trade["broker_charges"] == upstox_figure(exit_) + upstox_figure(entry)
    finally:
        await rig.close()


async def test_paper_trades_have_no_broker_charges(tmp_path: Path, database_url: str) -> None:
    rig = await make_rig(tmp_path, database_url=database_url)
    try:
        await rig.service.start()
        assert await entered(rig) is None
        await rig.service.stop()
        (order, _) = await rig.service.store.orders()
        assert order["broker_charges"] is None and order["charges"] > 0
        (trade,) = await rest_trades(rig)
        assert trade["status"] == "closed" and trade["broker_charges"] is None and trade["charges"] > 0
    finally:
        await rig.close()


@contextlib.asynccontextmanager
async def a_filled_entry(tmp_path: Path, fake: FakeUpstox) -> AsyncIterator[tuple[Rig, FillCharges, Fill]]:
    """A live run on the fake Upstox with one entry filled (and its charges fetched): the rig,
    its venue and that entry's fill, for recorders of a test's own."""
    rig = await upstox_rig(tmp_path, fake, UPSTOX_TOKEN)
    try:
        recorder = await entered(rig)
        assert recorder is not None
        await handled(recorder, 1)
        (entry,) = await rig.service.store.orders()
        engine = rig.service.engine
        assert engine is not None and isinstance(engine.venue, FillCharges)
        side, qty = Side(entry["side"]), int(entry["filled_qty"])
        yield rig, engine.venue, Fill(entry["order_id"], RELIANCE, side, qty, float(entry["fill_price"]))
    finally:
        await rig.close()


@contextlib.asynccontextmanager
async def running(recorder: BrokerChargesRecorder) -> AsyncIterator[None]:
    task = asyncio.create_task(recorder.run())
    try:
        yield
    finally:
        task.cancel()


async def test_a_fetch_waits_until_the_engine_is_settled(tmp_path: Path, fake_upstox: FakeUpstox) -> None:
    """The recorder asks the broker only once `settled` returns (the service passes the engine's:
    no order or fill in progress), so a fetch never runs beside the engine's own work."""
    async with a_filled_entry(tmp_path, fake_upstox) as (rig, venue, fill):
        fetched = len(fake_upstox.account.brokerage_requests)
        asked, release = asyncio.Event(), asyncio.Event()

        async def settled() -> None:
            asked.set()
            await release.wait()

        held = BrokerChargesRecorder(venue, rig.service.store, after=0, settled=settled)
        async with running(held):
            held.offer(fill)
            await asyncio.wait_for(asked.wait(), 10)
            assert len(fake_upstox.account.brokerage_requests) == fetched  # not while the engine is busy
            release.set()
            await handled(held, 1)
            assert (held.recorded, len(fake_upstox.account.brokerage_requests)) == (1, fetched + 1)


async def test_each_fill_waits_its_own_delay_not_the_fills_queued_before_it(
    tmp_path: Path, fake_upstox: FakeUpstox
) -> None:
    """Fills offered together are all due `after` seconds later: a busy day's fills do not queue
    up one delay each (three fills at 2 s each would take 6 s; they take about 2)."""
    async with a_filled_entry(tmp_path, fake_upstox) as (rig, venue, fill):
        delayed = BrokerChargesRecorder(venue, rig.service.store, after=2.0)
        async with running(delayed):
            for _ in range(3):
                delayed.offer(fill)
            await handled(delayed, 3, timeout=3.5)
            assert delayed.recorded == 3
