"""The broker's own kill switch behind a halt, against the fake Upstox on loopback: called only on
request, once, after the flatten; refused where there is none (paper, safe mode); a refusal by
the broker is said, and the status shows what is engaged."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.trading.errors import BrokerError, NoKillSwitch
from tests.market.upstox.fake import FakeUpstox
from tests.market.upstox.fake_account import KILL_SWITCH
from tests.trading.conftest import UPSTOX_TOKEN
from tests.trading.rig import Rig, make_rig, upstox_rig, upstox_transport
from tests.trading.stubs import INFY, RELIANCE, TCS

PRICES = {RELIANCE: 2900.0, TCS: 3900.0, INFY: 1500.0}
NOT_ENGAGED = {"engaged": False, "at": None, "segments": []}


async def live_rig(tmp_path: Path, fake_upstox: FakeUpstox) -> Rig:
    """A run on Upstox with both keys turned, one entry open at the fake."""
    rig = await upstox_rig(tmp_path, fake_upstox, UPSTOX_TOKEN)
    await rig.warm(PRICES)
    await rig.predict(RELIANCE, 0.01)
    await rig.bar(PRICES)
    assert len(rig.watch.of("hft.entry")) == 1 and fake_upstox.account.positions()[RELIANCE] > 0
    return rig


async def test_a_plain_halt_never_calls_the_broker_kill_switch(tmp_path: Path, fake_upstox: FakeUpstox) -> None:
    rig = await live_rig(tmp_path, fake_upstox)
    try:
        status = await rig.service.halt("by hand")
        assert status["state"] == "halted" and status["broker_kill_switch"] == NOT_ENGAGED
        await rig.service.resume()
        await rig.service.stop()
        assert fake_upstox.account.kill_switch_requests == [] and (
            ("POST", KILL_SWITCH) not in fake_upstox.account.calls
        )
        assert not any(fake_upstox.account.kill_switch.values())
    finally:
        await rig.close()


async def test_halt_with_the_broker_kill_switch_flattens_then_calls_it_once(
    tmp_path: Path, fake_upstox: FakeUpstox
) -> None:
    rig = await live_rig(tmp_path, fake_upstox)
    try:
        before = len(fake_upstox.broker_requests)
        status = await rig.service.halt("certainty", broker_kill_switch=True)

        writes = [(m, p) for m, p, _ in fake_upstox.broker_requests[before:] if m != "GET"]
        assert writes == [("POST", "/v3/order/place"), ("POST", KILL_SWITCH)]  # the flatten's exit, then the switch
        assert fake_upstox.account.kill_switch_requests == [[{"segment": "NSE_EQ", "action": "DISABLE"}]]
        assert fake_upstox.account.kill_switch["NSE_EQ"] and RELIANCE not in fake_upstox.account.positions()
        assert status["state"] == "halted" and status["halted_reason"] == "certainty"
        engaged = status["broker_kill_switch"]
        assert (engaged["engaged"], engaged["segments"]) == (True, ["NSE_EQ"]) and isinstance(engaged["at"], int)
        (trade,) = await rig.service.store.trades()
        assert (trade.status, trade.exit_reason, trade.note) == ("closed", "flatten", "broker kill switch")
        assert rig.service.status()["broker_kill_switch"] == engaged
    finally:
        await rig.close()


async def test_a_broker_refusal_is_said_and_nothing_is_shown_engaged(tmp_path: Path, fake_upstox: FakeUpstox) -> None:
    rig = await live_rig(tmp_path, fake_upstox)
    try:
        fake_upstox.account.outside[INFY] = 5  # held at the broker outside the engine: Upstox refuses to disable NSE_EQ
        with pytest.raises(BrokerError, match="UDAPI|close the open positions in NSE_EQ"):
            await rig.service.halt("certainty", broker_kill_switch=True)
        assert len(fake_upstox.account.kill_switch_requests) == 1 and not fake_upstox.account.kill_switch["NSE_EQ"]
        status = rig.service.status()
        assert status["state"] == "halted" and status["broker_kill_switch"] == NOT_ENGAGED
        await rig.watch.wait(lambda: bool(rig.watch.of("hft.error")))
        assert "the broker kill switch of upstox (NSE_EQ) failed" in rig.watch.of("hft.error")[-1]["error"]
    finally:
        await rig.close()


@pytest.mark.parametrize(
    ("broker", "live", "said"),
    [
        ("paper", False, "the paper broker has no kill switch; halt without broker_kill_switch"),
        ("upstox", True, "the paper broker has no kill switch (this run's orders go to paper: safe mode is on)"),
    ],
)
async def test_without_a_kill_switch_at_the_venue_the_request_is_refused_and_changes_nothing(
    tmp_path: Path, fake_upstox: FakeUpstox, broker: str, live: bool, said: str
) -> None:
    rig = await make_rig(tmp_path, upstox=upstox_transport(fake_upstox, UPSTOX_TOKEN), live_trading_enabled=live)
    try:
        await rig.service.start(broker, safe_mode=True)
        await rig.warm(PRICES)
        await rig.predict(RELIANCE, 0.01)
        await rig.bar(PRICES)
        events = len(rig.watch.events)
        with pytest.raises(NoKillSwitch, match="no kill switch") as refused:
            await rig.service.halt("certainty", broker_kill_switch=True)
        assert said in str(refused.value)
        assert rig.service.status()["state"] == "running" and rig.watch.events[events:] == []
        assert len(rig.service.engine.book.open) == 1  # type: ignore[union-attr]
        assert fake_upstox.account.calls == []
    finally:
        await rig.close()


async def test_a_kill_switch_engaged_at_the_broker_before_we_start_is_shown(
    tmp_path: Path, fake_upstox: FakeUpstox
) -> None:
    fake_upstox.account.kill_switch["NSE_EQ"] = True  # engaged earlier (by us before a restart, or by hand)
    fake_upstox.account.kill_switch["MCX_FO"] = True  # a segment the engine does not trade
    rig = await upstox_rig(tmp_path, fake_upstox, UPSTOX_TOKEN)
    try:
        status = rig.service.status()
        assert status["broker_kill_switch"] == {"engaged": True, "at": None, "segments": ["NSE_EQ"]}
        assert ("GET", KILL_SWITCH) in fake_upstox.account.calls and fake_upstox.account.kill_switch_requests == []
    finally:
        await rig.close()
