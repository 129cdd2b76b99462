"""End to end, live: a real `signaldesk serve` with both keys turned, its market from the fake
Upstox's feed and its orders to the fake's order host, the fills from the fake's portfolio
stream: a prediction -> an entry order placed (API v3) -> the order update (complete) on the
stream -> `hft.entry` at Upstox's fill price, with no order details polled; then an entry
accepted by Upstox and rejected by the exchange: no trade, and an `hft.manage_error` naming it."""

from __future__ import annotations

from pathlib import Path

from tests.market.upstox.fake import FakeUpstox
from tests.market.upstox.fake_orders import Outcome
from tests.trading.stubs import RELIANCE, TCS
from tests.trading.upstox_serve.desk import live_desk


async def test_a_live_entry_is_placed_filled_on_the_stream_and_announced(
    fake: FakeUpstox, token_file: Path, tmp_path: Path
) -> None:
    async with live_desk(fake, token_file, tmp_path / "data") as desk:
        await desk.start_live()
        fake.desk.price = 2901.5  # Upstox's fill, not the bar's price
        await desk.predict(RELIANCE)
        (entry,) = await desk.until_event("hft.entry", 1)

        fake.desk.script(Outcome("reject", message="RMS: Margin Exceeds"))
        await desk.predict(TCS)
        (error,) = [e["error"] for e in await desk.until_event("hft.manage_error", 1)]
        assert len(desk.hft.of("hft.entry")) == 1

    placed = fake.placed[0]
    assert (entry["instrument_key"], entry["qty"], entry["entry"]) == (RELIANCE, placed["quantity"], 2901.5)
    assert (placed["transaction_type"], placed["product"], placed["slice"]) == ("BUY", "I", True)
    assert placed["tag"] == "sd-1"  # the engine's first order id
    assert [u["status"] for u in fake.desk.updates] == ["open", "complete", "open", "rejected"]
    assert not [p for _, p, _ in fake.broker_requests if p == "/v2/order/details"]  # the stream told it

    rejected = list(fake.desk.orders)[-1]
    assert error.startswith(f"entry order 2 for {TCS} rejected: filled 0 of ")
    assert f"order {rejected} rejected: RMS: Margin Exceeds" in error
    assert fake.placed[-1]["instrument_token"] == TCS
