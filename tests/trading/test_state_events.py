"""`hft.state` on every transition of the engine, in the same publish as (or right after) the
stored change: each one is checked against the engine row committed when it arrived (the watch
reads it inside `deliver`, with the event loop held). SQLite and PostgreSQL (`database_url`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.trading.rig import Rig, make_rig
from tests.trading.stubs import INFY, RELIANCE, TCS

PRICES = {RELIANCE: 2900.0, TCS: 3900.0, INFY: 1500.0}
PAPER = {"safe_mode": True, "live_trading_enabled": False, "broker": "paper"}


def running() -> dict[str, Any]:
    return {"state": "running", "halted_reason": None, **PAPER}


def halted(reason: str) -> dict[str, Any]:
    return {"state": "halted", "halted_reason": reason, **PAPER}


def assert_stored_when_published(rig: Rig) -> None:
    """Every hft.state so far arrived when the stored engine row already said the same."""
    assert rig.watch.states, "no hft.state"
    for payload, row in rig.watch.states:
        assert row == {"state": payload["state"], "halted_reason": payload["halted_reason"]}, (payload, row)


async def test_start_halt_resume_stop_each_publish_the_state_they_stored(tmp_path: Path, database_url: str) -> None:
    rig = await make_rig(tmp_path, database_url=database_url)
    try:
        await rig.service.start()
        assert rig.watch.batches[-1] == ["hft.start", "hft.broker", "hft.state"]  # one publish
        assert rig.watch.of("hft.state") == [running()]

        await rig.service.halt("a person pressed halt")
        assert rig.watch.batches[-1] == ["hft.state"]
        assert rig.watch.of("hft.state")[-1] == halted("a person pressed halt")
        await rig.service.halt("pressed again")  # already halted: no transition, nothing published
        assert len(rig.watch.of("hft.state")) == 2

        await rig.service.resume()
        assert rig.watch.batches[-1] == ["hft.state"] and rig.watch.of("hft.state")[-1] == running()

        await rig.warm(PRICES)
        await rig.predict(RELIANCE, 0.01)
        await rig.bar(PRICES)
        assert len(rig.watch.of("hft.entry")) == 1
        answer = await rig.service.stop()
        assert answer["state"] == "stopped" and answer["flatten"] == {"closed": 1, "errors": []}
        types = [t for t, _ in rig.watch.events]
        assert types[-4:] == ["hft.exit", "hft.flatten", "hft.stop", "hft.state"]
        assert rig.watch.batches[-1] == ["hft.stop", "hft.state"]
        assert rig.watch.of("hft.state")[-1] == {**running(), "state": "stopped"}
        assert [p["state"] for p in rig.watch.of("hft.state")] == ["running", "halted", "running", "stopped"]
        assert_stored_when_published(rig)
        assert rig.service.status()["state"] == "stopped"
    finally:
        await rig.close()


async def test_the_daily_loss_limit_publishes_the_halt_in_the_commit_of_its_phase(
    tmp_path: Path, database_url: str
) -> None:
    rig = await make_rig(tmp_path, database_url=database_url, hft_max_daily_loss=500.0, hft_stop_vol=20.0)
    try:
        await rig.service.start()
        await rig.warm(PRICES)
        await rig.predict(RELIANCE, 0.01)
        await rig.bar(PRICES)
        (entry,) = rig.watch.of("hft.entry")
        await rig.bar({**PRICES, RELIANCE: entry["entry"] - 600.0 / entry["qty"] - 1})
        await rig.watch.wait(lambda: rig.watch.of("hft.flatten") != [])
        assert ["hft.error", "hft.state"] in rig.watch.batches  # the halt's phase: stored, then both at once
        types = [t for t, _ in rig.watch.events if t != "hft.trade_risk"]
        assert types[-4:] == ["hft.error", "hft.state", "hft.exit", "hft.flatten"]
        state = rig.watch.of("hft.state")[-1]
        assert state["state"] == "halted" and state["halted_reason"].startswith("daily loss limit breached")
        assert rig.service.status()["halted_reason"] == state["halted_reason"]
        assert_stored_when_published(rig)
    finally:
        await rig.close()


async def test_a_run_recovered_after_a_restart_announces_its_state(tmp_path: Path, database_url: str) -> None:
    rig = await make_rig(tmp_path, database_url=database_url)
    await rig.service.start()
    await rig.service.halt("halted before the restart")
    await rig.close()  # a shutdown: the stored state stays halted

    again = await make_rig(tmp_path, database_url=database_url)
    try:
        await again.service.recover(autostart=True)
        assert again.watch.batches == [["hft.start", "hft.broker", "hft.state"]]
        assert again.watch.of("hft.state") == [halted("halted before the restart")]
        assert_stored_when_published(again)
        await again.service.resume()
        assert again.watch.of("hft.state")[-1] == running()
        assert_stored_when_published(again)
    finally:
        await again.close()
