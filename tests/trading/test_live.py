"""The hft channel end to end: a real server, the simulated market on a fast clock, a real WebSocket.

Predictions are published on the prediction channel over REST (the predictor is not started),
so the test decides what the engine sees; prices come from the simulated market.
"""

from __future__ import annotations

import random

import httpx
from websockets.asyncio.client import connect

from app.trading.store import TradeStore
from tests.support.server import ServerProcess
from tests.support.storage import default_sqlite_unused, read_database
from tests.support.ws import recv_ready
from tests.trading.live import FAST, REASONS, Stream, assert_resumed_and_reconciled, inject, post, status, wait_for_bars
from tests.trading.stubs import RELIANCE, TCS

KEYS = (
    "NSE_EQ|INE002A01018",
    "NSE_EQ|INE467B01029",
    "NSE_EQ|INE040A01034",
    "NSE_EQ|INE009A01021",
    "NSE_EQ|INE090A01021",
)
LIFECYCLE = {
    **FAST,
    "SIGNALDESK_MARKET_START": "2025-11-25",
    "SIGNALDESK_HFT_STOP_VOL": "1.0",
    "SIGNALDESK_HFT_TARGET_VOL": "1.0",
    "SIGNALDESK_HFT_COOLDOWN": "0",
    "SIGNALDESK_HFT_MAX_OPEN_TRADES": "5",
}


def check_trades(stream: Stream) -> None:
    """Every entry is followed by its risk (stop and target on the right sides); every exit had an entry."""
    entries = {p["trade_id"]: p for p in stream.of("hft.entry")}
    first_risk: dict[int, dict[str, float]] = {}
    for p in stream.of("hft.trade_risk"):
        first_risk.setdefault(p["trade_id"], p)
    for trade_id, entry in entries.items():
        risk, qty = first_risk[trade_id], entry["qty"]
        assert isinstance(qty, int) and qty != 0
        assert (
            risk["stop"] < entry["entry"] < risk["target"]
            if qty > 0
            else risk["target"] < entry["entry"] < risk["stop"]
        )
    for exit_ in stream.of("hft.exit"):
        assert exit_["trade_id"] in entries and exit_["reason"] in REASONS
        assert exit_["instrument_key"] == entries[exit_["trade_id"]]["instrument_key"]


async def test_full_lifecycle_every_exit_reason_in_contract(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(env=LIFECYCLE)
    server.start()
    ids = iter(range(1, 10_000))
    async with connect(server.ws("hft")) as ws:
        await recv_ready(ws)
        stream = Stream(ws)
        started = post(server, "start")
        assert started.status_code == 200 and started.json()["state"] == "running"
        await stream.until(lambda ev: len(ev) >= 3)
        running = {"state": "running", "halted_reason": None, "safe_mode": True, "live_trading_enabled": False}
        assert [(e["type"], e["payload"]) for e in stream.events] == [
            ("hft.start", {"broker": "paper", "safe_mode": True, "live_trading_enabled": False}),
            ("hft.broker", {"broker": "paper"}),
            ("hft.state", {**running, "broker": "paper"}),
        ]

        # stop, target, time: one-bar trades whose stop and target sit one sigma away
        rng = random.Random(5)
        for _ in range(30):
            if {"stop", "target", "time"} <= {p["reason"] for p in stream.of("hft.exit")}:
                break
            for key in KEYS[:3]:
                inject(server, key, rng.choice((1, -1)) * 0.01, h=rng.choice((1, 2)), id=next(ids))
            await wait_for_bars(server, 8)  # entered 4 bars ahead, out 1-2 bars later
            await stream.catch_up(server)
        assert {"stop", "target", "time"} <= {p["reason"] for p in stream.of("hft.exit")}, status(server)

        # signal: a long, then a prediction the other way closes it at the next open (and goes short)
        await wait_for_bars(server, 8)  # the last round's signals are used or stale by now
        await stream.catch_up(server)
        await stream.until(lambda ev: not stream.open_ids(), timeout=10)
        entries = len(stream.of("hft.entry"))
        inject(server, KEYS[3], 0.01, h=300, id=next(ids))
        await stream.until(lambda ev: len(stream.of("hft.entry")) > entries)
        long_id = stream.of("hft.entry")[-1]["trade_id"]
        assert stream.of("hft.entry")[-1]["instrument_key"] == KEYS[3]
        inject(server, KEYS[3], -0.01, h=300, id=next(ids))
        await stream.until(lambda ev: long_id in {p["trade_id"] for p in stream.of("hft.exit")})
        assert [p["reason"] for p in stream.of("hft.exit") if p["trade_id"] == long_id] == ["signal"]
        await stream.until(lambda ev: stream.of("hft.entry")[-1]["qty"] < 0)

        # flatten: the short and a new long close at once
        inject(server, KEYS[4], 0.01, h=300, id=next(ids))
        await stream.until(lambda ev: len(stream.open_ids()) == 2)
        flattened = post(server, "flatten", {"reason": "lifecycle test"})
        assert flattened.status_code == 200 and flattened.json() == {"closed": 2, "errors": []}
        await stream.until(lambda ev: stream.of("hft.flatten") != [])
        assert stream.of("hft.flatten") == [{"closed": 2, "errors": []}]
        assert [p["reason"] for p in stream.of("hft.exit")[-2:]] == ["flatten", "flatten"]

        # square-off at 15:15 IST: a trade held for the rest of the day is closed then (a horizon so
        # long that its stop and target, sigma x sqrt(h) away, are out of reach before 15:15)
        inject(server, KEYS[4], 0.01, h=5000, id=next(ids))
        await stream.until(lambda ev: len(stream.open_ids()) == 1)
        await stream.until(lambda ev: "square_off" in {p["reason"] for p in stream.of("hft.exit")}, timeout=40)
        assert not stream.open_ids()

        stopped = post(server, "stop")
        assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
        await stream.until(lambda ev: ev[-1]["type"] == "hft.state" and ev[-2]["type"] == "hft.stop")
        assert stream.of("hft.state")[-1] == {**running, "state": "stopped", "broker": "paper"}

    check_trades(stream)
    assert {p["reason"] for p in stream.of("hft.exit")} >= {"stop", "target", "time", "signal", "flatten", "square_off"}
    stored = {
        t["trade_id"]: t for t in httpx.get(f"{server.http}/api/hft/trades", params={"limit": 5000}).json()["trades"]
    }
    for p in stream.of("hft.exit"):  # stored before announced, and the same
        t = stored[p["trade_id"]]
        assert (t["status"], round(t["exit"], 2), round(t["pnl"], 2), t["reason"]) == (
            "closed",
            p["price"],
            p["pnl"],
            p["reason"],
        )
    assert status(server)["state"] == "stopped"
    assert httpx.get(f"{server.http}/api/hft/positions").json()["positions"] == []


async def test_daily_loss_breach_halts_and_flattens_by_itself(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(env={**FAST, "SIGNALDESK_HFT_MAX_DAILY_LOSS": "1"})
    server.start()
    async with connect(server.ws("hft")) as ws:
        await recv_ready(ws)
        stream = Stream(ws)
        assert post(server, "start").status_code == 200
        inject(server, RELIANCE, 0.01, h=300, id=1)
        await stream.until(lambda ev: stream.of("hft.flatten") != [])
        types = [e["type"] for e in stream.events if e["type"] != "hft.trade_risk"]  # (the trailing stop may move)
        assert types == [
            "hft.start",
            "hft.broker",
            "hft.state",
            "hft.entry",
            "hft.error",
            "hft.state",
            "hft.exit",
            "hft.flatten",
        ]
        assert stream.of("hft.state")[-1]["state"] == "halted"
        assert "daily loss limit breached" in stream.of("hft.error")[0]["error"]
        assert stream.of("hft.exit")[0]["reason"] == "daily_loss" and stream.of("hft.flatten") == [
            {"closed": 1, "errors": []}
        ]
        state = status(server)
        assert state["state"] == "halted" and "daily loss" in state["halted_reason"] and state["open_trades"] == 0
        inject(server, TCS, 0.01, h=300, id=2)  # halted: no new entry
        await wait_for_bars(server, 20)
        resumed = post(server, "resume")
        assert resumed.status_code == 409 and "daily loss" in resumed.json()["detail"]
    assert len([e for e in stream.events if e["type"] == "hft.entry"]) == 1
    assert status(server)["state"] == "halted"
    assert httpx.get(f"{server.http}/api/hft/positions").json()["positions"] == []


async def test_kill_switch_under_load(server_factory) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import threading

    server: ServerProcess = server_factory(
        env={**FAST, "SIGNALDESK_HFT_COOLDOWN": "0", "SIGNALDESK_HFT_MAX_OPEN_TRADES": "5"}
    )
    server.start()
    stop = threading.Event()

    def keep_predicting() -> None:  # both ways, every instrument, as fast as REST goes: entries and flips
        k = 0
        while not stop.is_set():
            k += 1
            inject(server, KEYS[k % 5], (1 if (k // 5) % 2 else -1) * 0.01, h=300, id=k, ahead=1)

    async with connect(server.ws("hft")) as ws:
        await recv_ready(ws)
        stream = Stream(ws)
        assert post(server, "start").status_code == 200
        feeder = threading.Thread(target=keep_predicting, daemon=True)
        feeder.start()
        try:
            await stream.until(lambda ev: len(stream.of("hft.entry")) >= 8 and len(stream.open_ids()) >= 2)
            assert post(server, "halt", {"reason": "kill switch test"}).status_code == 200
            flattened = post(server, "flatten")
            assert flattened.status_code == 200 and flattened.json()["errors"] == []
            await stream.until(lambda ev: stream.of("hft.flatten") != [])
            await wait_for_bars(server, 20)  # predictions keep coming meanwhile
        finally:
            stop.set()
            await asyncio.to_thread(feeder.join, 10)
        await wait_for_bars(server, 2)
        await stream.until(lambda ev: True)
    flatten_at = next(i for i, e in enumerate(stream.events) if e["type"] == "hft.flatten")
    assert [e["type"] for e in stream.events[flatten_at:] if e["type"] == "hft.entry"] == []
    assert not stream.open_ids()
    state = status(server)
    assert (state["state"], state["open_trades"], state["halted_reason"]) == ("halted", 0, "kill switch test")
    assert httpx.get(f"{server.http}/api/hft/positions").json()["positions"] == []
    check_trades(stream)


async def test_sigkill_with_open_trades_then_they_are_managed_again(database_env, server_factory) -> None:  # type: ignore[no-untyped-def]
    """On each relational store (SQLite, PostgreSQL: tests/conftest.py): the open trades are
    reloaded from it after the SIGKILL, and the journal wrote them there before they were announced."""
    server: ServerProcess = server_factory(env={**FAST, "SIGNALDESK_HFT_COOLDOWN": "0", **database_env})
    server.start()
    async with connect(server.ws("hft")) as ws:
        ready = await recv_ready(ws)
        stream = Stream(ws)
        assert post(server, "start").status_code == 200
        for k, key in enumerate(KEYS[:3]):
            inject(server, key, 0.01 if k % 2 else -0.01, h=300, id=k + 1)
        await stream.until(lambda ev: len(stream.open_ids()) == 3 and ev[-1]["type"] == "hft.trade_risk")
    held = stream.open_ids()
    before = {p["instrument_key"]: p["qty"] for p in httpx.get(f"{server.http}/api/hft/positions").json()["positions"]}
    assert before == {p["instrument_key"]: p["qty"] for p in stream.of("hft.entry")}
    server.kill()
    url = database_env["SIGNALDESK_DATABASE_URL"]
    stored = await read_database(url, lambda db: TradeStore(db).open_trades())
    assert {t.trade_id for t in stored} == held and default_sqlite_unused(server.data_dir)

    server.start()
    async with connect(server.ws("hft", after=stream.events[-1]["id"], epoch=ready["epoch"])) as ws:
        assert (await recv_ready(ws))["resumed"] is True
        after = Stream(ws)
        await after.until(lambda ev: "hft.state" in [e["type"] for e in ev])
        types = [e["type"] for e in after.events]  # what the killed process published after our last read, then:
        assert types[-3:] == ["hft.start", "hft.broker", "hft.state"] and set(types[:-3]) <= {
            "hft.trade_risk"
        }  # recovered by itself
        assert after.of("hft.state")[-1]["state"] == "running"
        await assert_resumed_and_reconciled(server, before, 3)
        flattened = post(server, "flatten")
        assert flattened.json() == {"closed": 3, "errors": []}
        await after.until(lambda ev: after.of("hft.flatten") != [])
    assert after.of("hft.manage_error") == [] and after.of("hft.error") == []
    assert {p["trade_id"] for p in after.of("hft.exit")} == held
    assert httpx.get(f"{server.http}/api/hft/positions").json()["positions"] == []
