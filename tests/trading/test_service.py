"""The live service on the real bus, journal and database, fed by hand: lifecycle, the two keys,
restart recovery, the kill switch. The database and its journal: SQLite and PostgreSQL
(`database_url`, tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.trading.errors import BadLimits, EngineStateError, LiveTradingRefused, UnknownBroker
from tests.support.waits import polled
from tests.trading.rig import make_rig
from tests.trading.stubs import INFY, RELIANCE, TCS

PRICES = {RELIANCE: 2900.0, TCS: 3900.0, INFY: 1500.0}


async def test_lifecycle_start_entry_exit_flatten_stop_in_contract_order(tmp_path: Path, database_url: str) -> None:
    rig = await make_rig(tmp_path, database_url=database_url)
    try:
        status = await rig.service.start()
        assert (status["state"], status["broker"], status["venue"], status["safe_mode"]) == (
            "running",
            "paper",
            "paper",
            True,
        )
        await rig.warm(PRICES)
        await rig.predict(RELIANCE, 0.01)
        await rig.predict(TCS, -0.01, id=2)
        await rig.bar(PRICES)
        assert len(rig.watch.of("hft.entry")) == 2
        outcome = await rig.service.flatten("test")
        assert (outcome.closed, outcome.errors) == (2, [])
        await rig.service.stop()
        types = [t for t, _ in rig.watch.events]
        assert types[:3] == ["hft.start", "hft.broker", "hft.state"] and types[-2:] == ["hft.stop", "hft.state"]
        assert rig.watch.of("hft.start") == [{"broker": "paper", "safe_mode": True, "live_trading_enabled": False}]
        assert rig.watch.of("hft.broker") == [{"broker": "paper"}]
        stored = await rig.service.store.trades()
        assert [(t.status, t.exit_reason, t.note) for t in stored] == [("closed", "flatten", "test")] * 2
        assert (await rig.service.positions())["positions"] == []
    finally:
        await rig.close()


async def test_bad_commands_are_refused_and_change_nothing(tmp_path: Path, database_url: str) -> None:
    rig = await make_rig(tmp_path, database_url=database_url)
    try:
        for call in (rig.service.stop(), rig.service.flatten(), rig.service.halt(), rig.service.resume()):
            with pytest.raises(EngineStateError):
                await call
        with pytest.raises(UnknownBroker):
            await rig.service.start("zerodha")
        with pytest.raises(LiveTradingRefused):
            await rig.service.start("paper", safe_mode=False)
        with pytest.raises(BadLimits):
            await rig.service.start(limits={"max_daily_loss": 1e12})
        assert rig.service.status()["state"] == "stopped" and rig.watch.events == []
        await rig.service.start()
        with pytest.raises(EngineStateError, match="running"):
            await rig.service.start()
        with pytest.raises(EngineStateError, match="only a halted"):
            await rig.service.resume()
        assert rig.service.status()["state"] == "running"
    finally:
        await rig.close()


@pytest.mark.parametrize("live_enabled", [False, True])
@pytest.mark.parametrize("safe_mode", [True, False])
@pytest.mark.parametrize("broker", ["paper", "upstox"])
async def test_an_order_reaches_the_live_broker_only_with_both_keys(
    tmp_path: Path, live_enabled: bool, safe_mode: bool, broker: str
) -> None:
    rig = await make_rig(tmp_path, live_trading_enabled=live_enabled)
    try:
        if not safe_mode and not live_enabled:
            with pytest.raises(LiveTradingRefused):
                await rig.service.start(broker, safe_mode=safe_mode)
            assert rig.fake.broker_requests == [] and rig.service.status()["state"] == "stopped"
            return
        status = await rig.service.start(broker, safe_mode=safe_mode)
        live = live_enabled and not safe_mode and broker == "upstox"
        assert status["venue"] == ("upstox" if live else "paper")
        await rig.warm(PRICES)
        await rig.predict(RELIANCE, 0.01)
        await rig.bar(PRICES)
        await rig.service.flatten()
        await rig.service.stop()
        assert len(rig.watch.of("hft.entry")) == 1 and len(rig.watch.of("hft.exit")) == 1
        if live:
            assert [(o["transaction_type"], o["product"], o["order_type"]) for o in rig.fake.placed] == [
                ("BUY", "I", "MARKET"),
                ("SELL", "I", "MARKET"),
            ]
            assert rig.fake.account.positions() == {}  # flat again
        else:
            assert rig.fake.broker_requests == []  # not an order, not even a connection
    finally:
        await rig.close()


async def test_a_restart_reloads_open_trades_reconciles_and_manages_them(tmp_path: Path, database_url: str) -> None:
    rig = await make_rig(tmp_path, database_url=database_url)
    await rig.service.start()
    await rig.warm(PRICES)
    await rig.predict(RELIANCE, 0.01)
    await rig.bar(PRICES)
    (entry,) = rig.watch.of("hft.entry")
    stop = rig.service.engine.book.open[entry["trade_id"]].stop  # type: ignore[union-attr]
    await rig.close()  # as a shutdown: the stored state stays "running"

    again = await make_rig(tmp_path, database_url=database_url)
    try:
        again.now = rig.now
        await again.service.recover(autostart=False)
        status = again.service.status()
        assert (status["state"], status["open_trades"]) == ("running", 1)
        await again.bar(PRICES)  # reconciles: the paper ledger agrees, nothing to say
        assert again.watch.of("hft.manage_error") == []
        assert (await again.service.positions())["positions"] == [
            {"instrument_key": RELIANCE, "qty": entry["qty"], "avg_price": entry["entry"], "engine_qty": entry["qty"]}
        ]
        await again.bar({**PRICES, RELIANCE: (2900.0, 2901.0, stop - 1, stop)})
        (exit_,) = again.watch.of("hft.exit")
        assert (exit_["trade_id"], exit_["reason"]) == (entry["trade_id"], "stop")
        await again.warm(PRICES)  # a new process: volatility is learnt again from its own bars
        await again.predict(TCS, 0.01, id=9)
        await again.bar(PRICES)
        assert again.watch.of("hft.entry")[0]["trade_id"] == entry["trade_id"] + 1  # ids continue
    finally:
        await again.close()


async def test_a_halted_engine_stays_halted_across_a_restart(tmp_path: Path, database_url: str) -> None:
    rig = await make_rig(tmp_path, database_url=database_url)
    await rig.service.start()
    await rig.service.halt("a person pressed halt")
    await rig.close()
    again = await make_rig(tmp_path, database_url=database_url)
    try:
        await again.service.recover(autostart=True)
        status = again.service.status()
        assert (status["state"], status["halted_reason"]) == ("halted", "a person pressed halt")
        await again.warm(PRICES)
        await again.predict(RELIANCE, 0.01)
        await again.bar(PRICES)
        assert again.watch.of("hft.entry") == []
        assert (await again.service.resume())["state"] == "running"
    finally:
        await again.close()


async def test_autostart_starts_paper_in_safe_mode_and_recovery_drops_to_safe_mode_without_key_one(
    tmp_path: Path, database_url: str
) -> None:
    rig = await make_rig(tmp_path, database_url=database_url, live_trading_enabled=True)
    await rig.service.recover(autostart=True)
    assert rig.watch.of("hft.start") == [{"broker": "paper", "safe_mode": True, "live_trading_enabled": True}]
    await rig.service.stop()
    await rig.service.start("upstox", safe_mode=False)
    assert rig.service.status()["venue"] == "upstox"
    await rig.close()
    again = await make_rig(
        tmp_path, database_url=database_url, live_trading_enabled=False
    )  # key 1 removed while it was down
    try:
        await again.service.recover(autostart=False)
        status = again.service.status()
        assert (status["broker"], status["safe_mode"], status["venue"]) == ("upstox", True, "paper")
        assert "safe mode" in again.watch.of("hft.error")[0]["error"]
        assert again.fake.broker_requests == []
    finally:
        await again.close()


async def test_a_broker_that_stops_answering_is_reported_and_reconnected(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path, live_trading_enabled=True, hft_broker_check_interval=0.05)
    try:
        await rig.service.start("upstox", safe_mode=False)
        assert rig.service.status()["venue_connected"] is True
        rig.fake.unavailable = True
        await rig.watch.wait(lambda: bool(rig.watch.of("hft.error")))
        assert rig.service.status()["venue_connected"] is False
        tried = len(rig.fake.broker_requests)
        await polled(lambda: len(rig.fake.broker_requests) >= tried + 3, 5)  # three more attempts, still one hft.error
        assert len(rig.watch.of("hft.error")) == 1
        assert "broker upstox is not answering" in rig.watch.of("hft.error")[0]["error"]
        assert "Service Unavailable" in rig.watch.of("hft.error")[0]["error"]
        rig.fake.unavailable = False
        await rig.watch.wait(lambda: len(rig.watch.of("hft.broker")) == 2)
        assert rig.watch.of("hft.broker") == [{"broker": "upstox"}, {"broker": "upstox"}]
        assert rig.service.status()["venue_connected"] is True
        await rig.service.stop()
        after_stop = len(rig.fake.broker_requests)
        await rig.service.start()  # paper: the watch of the upstox run has ended with it
        assert rig.fake.broker_requests[after_stop:] == []
    finally:
        await rig.close()
