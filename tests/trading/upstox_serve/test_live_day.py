"""A live day on Upstox, end to end: one real `signaldesk serve` with both keys turned against the
fake Upstox, through what a trading day brings: an entry filled in two parts, an entry the broker
slices into three orders, the portfolio stream dropping (polling while it is down, announced in
the status, then the stream again), a position opened outside the engine found by the periodic
reconciliation and squared off, and the broker's kill switch called only when a halt asks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.market.upstox.fake import FakeUpstox
from tests.market.upstox.fake_account import KILL_SWITCH
from tests.market.upstox.fake_orders import Outcome
from tests.trading.stubs import RELIANCE, TCS
from tests.trading.upstox_serve.desk import LiveDesk, live_desk

DETAILS = "/v2/order/details"


def polls(fake: FakeUpstox) -> int:
    return sum(1 for _, path, _ in fake.broker_requests if path == DETAILS)


async def status_until(desk: LiveDesk, field: str, holds: Callable[[Any], bool], timeout: float = 10) -> dict[str, Any]:
    """GET /api/hft/status until `holds(status[field])`: the status, then."""

    async def poll() -> dict[str, Any]:
        while not holds((status := await desk.status()).get(field)):
            await asyncio.sleep(0.02)
        return status

    return await asyncio.wait_for(poll(), timeout)


async def test_a_live_day_partial_fills_slices_a_stream_drop_reconciliation_and_the_kill_switch(
    fake: FakeUpstox, token_file: Path, tmp_path: Path
) -> None:
    async with live_desk(fake, token_file, tmp_path / "data", {"SIGNALDESK_HFT_RECONCILE_INTERVAL": "0.3"}) as desk:
        await desk.start_live()
        assert (await desk.status())["venue_updates"] == "stream"

        # An entry filled in two parts: one trade, the whole quantity, at the weighted price.
        fake.desk.price = 2900.0
        fake.desk.script(Outcome("partial_then_rest"))
        await desk.predict(RELIANCE)
        (first,) = await desk.until_event("hft.entry", 1)
        placed = fake.placed[-1]
        qty, part = placed["quantity"], placed["quantity"] // 2
        assert [(u["status"], u["filled_quantity"]) for u in fake.desk.updates] == [
            ("open", 0),
            ("open", part),
            ("complete", qty),
        ]
        assert (first["instrument_key"], first["qty"]) == (RELIANCE, qty)
        assert first["entry"] == pytest.approx((part * 2900.0 + (qty - part) * 2902.0) / qty, abs=0.01)

        # An entry the broker slices into three orders: one place, one trade at the three fills' price.
        fake.desk.price = 3500.0
        fake.desk.script(Outcome("fill", slices=3))
        await desk.predict(TCS)
        second = (await desk.until_event("hft.entry", 2))[1]
        placed = fake.placed[-1]
        slices = [o for o in fake.desk.orders.values() if o["tag"] == placed["tag"]]
        assert len(slices) == 3 and sum(o["quantity"] for o in slices) == placed["quantity"] == second["qty"]
        paid = sum(o["quantity"] * o["average_price"] for o in slices)
        assert second["entry"] == pytest.approx(paid / placed["quantity"], abs=0.01)
        assert polls(fake) == 0  # every outcome so far came on the stream

        # The stream drops and cannot come back: the status says polling; the flatten's exits
        # are followed by polling their details.
        fake.refuse_portfolio = True
        fake.drop_portfolio()
        down = await status_until(desk, "venue_updates", lambda v: str(v).startswith("polling (stream down: "))
        assert down["venue_connected"] is True
        flattened = await desk.http.post("/api/hft/flatten", json={})
        assert flattened.status_code == 200 and flattened.json() == {"closed": 2, "errors": []}
        exits = await desk.until_event("hft.exit", 2)
        assert {e["reason"] for e in exits} == {"flatten"} and polls(fake) > 0

        # Back: the stream again, announced in the status; outcomes from the stream again.
        fake.refuse_portfolio = False
        await fake.wait_for(lambda: fake.portfolio_open == 1, timeout=10)
        await status_until(desk, "venue_updates", lambda v: v == "stream")
        assert fake.account.positions() == {}

        # A position opened outside the engine (Upstox's app): the next periodic reconciliation
        # squares it off through the engine's gate and says so.
        errors = len(desk.hft.of("hft.manage_error"))
        fake.account.outside[TCS] = 7
        await desk.hft.until(lambda: len(desk.hft.of("hft.manage_error")) > errors)
        error = desk.hft.of("hft.manage_error")[-1]["payload"]["error"]
        assert error.startswith(f"reconcile {TCS}: the engine's open trades hold +0 shares, upstox holds +7;"), error
        squared = fake.placed[-1]
        assert (squared["instrument_token"], squared["transaction_type"], squared["quantity"]) == (TCS, "SELL", 7)
        assert squared["tag"].startswith("sd-") and fake.account.positions() == {}

        # A plain halt never touches the broker's kill switch; a halt that asks for it calls it once.
        halted = await desk.http.post("/api/hft/halt", json={"reason": "lunch"})
        assert halted.status_code == 200 and halted.json()["broker_kill_switch"]["engaged"] is False
        assert (await desk.http.post("/api/hft/resume")).status_code == 200
        assert ("POST", KILL_SWITCH) not in fake.account.calls
        halted = await desk.http.post("/api/hft/halt", json={"reason": "certainty", "broker_kill_switch": True})
        assert halted.status_code == 200, halted.text
        assert halted.json()["broker_kill_switch"]["segments"] == ["NSE_EQ"]
        assert fake.account.kill_switch_requests == [[{"segment": "NSE_EQ", "action": "DISABLE"}]]
