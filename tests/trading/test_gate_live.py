"""The two keys on a real server, Upstox played by the fake Upstox on loopback, whose recorder
keeps every request of the broker (orders on API v3, order details, the portfolio stream's
authorize, positions, profile): no API path gets an order to the live broker, nor even a
connection, unless live trading is enabled AND safe mode is off; with stops held at the broker
(SIGNALDESK_HFT_BROKER_STOPS) their place, modify and cancel too.
Also: bad requests get clear 4xx answers and change nothing; the CLI."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.market.upstox.fake import FakeUpstox, fake_in_thread
from tests.support.server import ServerProcess
from tests.support.ws import recv_ready
from tests.trading.live import FAST, Stream, cli, inject, post, status
from tests.trading.stubs import RELIANCE, TCS

TOKEN = "upstox-test-token"


@pytest.fixture
def upstox() -> Iterator[FakeUpstox]:
    with fake_in_thread(tokens=[TOKEN]) as fake:
        yield fake


def env(upstox: FakeUpstox, live: bool) -> dict[str, str]:
    return {
        **FAST,
        "SIGNALDESK_UPSTOX_BASE_URL": upstox.url,
        "SIGNALDESK_UPSTOX_ORDER_URL": upstox.order_url,
        "SIGNALDESK_UPSTOX_ACCESS_TOKEN": TOKEN,
        "SIGNALDESK_LIVE_TRADING_ENABLED": "true" if live else "false",
        "SIGNALDESK_HFT_COOLDOWN": "0",
        "SIGNALDESK_HFT_BROKER_STOPS": "true",
    }


async def trade_once(server: ServerProcess, stream: Stream, key: str, id: int) -> None:
    """One entry from a prediction, then every other order path: flatten, a square_off automation run, stop."""
    entries = len(stream.of("hft.entry"))
    inject(server, key, 0.01, h=300, id=id)
    await stream.until(lambda ev: len(stream.of("hft.entry")) > entries)
    assert post(server, "flatten").json()["closed"] == 1
    inject(server, key, -0.01, h=300, id=id + 1)
    await stream.until(lambda ev: len(stream.of("hft.entry")) > entries + 1)
    run = httpx.post(f"{server.http}/api/automation/runs", json={"kind": "square_off", "params": {"reason": "test"}})
    assert run.status_code == 202, run.text
    await stream.until(lambda ev: len(stream.of("hft.flatten")) >= 2)
    assert post(server, "stop").status_code == 200
    await stream.until(lambda ev: ev[-1]["type"] == "hft.stop")


async def test_live_trading_disabled_nothing_reaches_upstox(server_factory, upstox: FakeUpstox) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(env=env(upstox, live=False))
    server.start()
    async with connect(server.ws("hft")) as ws:
        await recv_ready(ws)
        stream = Stream(ws)
        refused = post(server, "start", {"broker": "upstox", "safe_mode": False})
        assert refused.status_code == 403 and "SIGNALDESK_LIVE_TRADING_ENABLED" in refused.json()["detail"]
        sneaky = post(server, "start", {"broker": "upstox", "safe_mode": False, "live_trading_enabled": True})
        assert sneaky.status_code == 422 and sneaky.json()["detail"][0]["loc"] == ["body", "live_trading_enabled"]
        assert status(server)["state"] == "stopped"
        started = post(server, "start", {"broker": "upstox"})  # safe mode: on by default
        assert started.status_code == 200
        assert (started.json()["broker"], started.json()["venue"], started.json()["safe_mode"]) == (
            "upstox",
            "paper",
            True,
        )
        await trade_once(server, stream, RELIANCE, 1)
    assert stream.of("hft.start") == [{"broker": "upstox", "safe_mode": True, "live_trading_enabled": False}]
    assert stream.of("hft.broker") == [{"broker": "paper"}]
    assert upstox.broker_requests == []  # no order, not even a connection


async def test_live_trading_enabled_only_safe_mode_off_reaches_upstox(server_factory, upstox: FakeUpstox) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(env=env(upstox, live=True))
    server.start()
    async with connect(server.ws("hft")) as ws:
        await recv_ready(ws)
        stream = Stream(ws)
        assert post(server, "start", {"broker": "upstox", "safe_mode": True}).json()["venue"] == "paper"
        await trade_once(server, stream, TCS, 1)
        assert upstox.broker_requests == []  # key 1 on, key 2 (safe mode) on: still paper
        live = post(server, "start", {"broker": "upstox", "safe_mode": False})
        assert live.status_code == 200 and live.json()["venue"] == "upstox"
        await trade_once(server, stream, RELIANCE, 10)  # the recorder fills at 2900, about RELIANCE's price
    assert stream.of("hft.start")[-1] == {"broker": "upstox", "safe_mode": False, "live_trading_enabled": True}
    assert stream.of("hft.broker") == [{"broker": "paper"}, {"broker": "upstox"}]
    sides = [(o["instrument_token"], o["transaction_type"]) for o in upstox.placed if o["order_type"] == "MARKET"]
    assert sides == [
        (RELIANCE, "BUY"),
        (RELIANCE, "SELL"),
        (RELIANCE, "SELL"),
        (RELIANCE, "BUY"),
    ]  # entry, flatten, short, square-off
    stops = [(o["transaction_type"], o["trigger_price"] > 0) for o in upstox.placed if o["order_type"] == "SL-M"]
    assert stops == [("SELL", True), ("BUY", True)]  # a stop held at the broker for each entry
    writes = [(m, p) for m, p, _ in upstox.broker_requests if m in ("POST", "DELETE") and p.startswith("/v3/order")]
    place, cancel = ("POST", "/v3/order/place"), ("DELETE", "/v3/order/cancel")
    assert writes == [place, place, cancel, place] * 2  # entry, its stop; the stop cancelled before the exit
    assert all(o["tag"].startswith("sd-") and o["product"] == "I" for o in upstox.placed)
    assert all(o["slice"] == (o["order_type"] == "MARKET") for o in upstox.placed)
    statuses = [u["status"] for u in upstox.desk.updates]
    assert statuses.count("complete") == 4 and statuses.count("cancelled") == 2  # each came on the stream
    assert upstox.portfolio_tokens and set(upstox.portfolio_tokens) == {TOKEN}
    assert upstox.account.positions() == {}  # flat again


async def test_bad_requests_get_clear_answers_and_change_nothing_and_the_cli(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(env=FAST)
    server.start()
    assert post(server, "flatten").status_code == 409 and "stopped" in post(server, "flatten").json()["detail"]
    for path in ("stop", "halt", "resume"):
        assert post(server, path).status_code == 409, path
    bad = post(server, "start", {"broker": "zerodha"})
    assert (
        bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "broker"] and "paper, upstox" in bad.text
    )
    bad = post(server, "start", {"limits": {"risk_per_trade": -5, "max_open_trades": 0, "max_orders_per_second": 50}})
    assert bad.status_code == 422
    assert {tuple(d["loc"]) for d in bad.json()["detail"]} == {
        ("body", "limits", f) for f in ("risk_per_trade", "max_open_trades", "max_orders_per_second")
    }
    looser = post(server, "start", {"limits": {"max_daily_loss": 1e9}})
    assert looser.status_code == 422 and "may not exceed the server's 10000" in looser.text
    assert status(server)["state"] == "stopped"
    assert httpx.get(f"{server.http}/api/events", params={"channel": "hft"}).json()["events"] == []

    started = cli(server, "start", "--limits", '{"max_open_trades": 2}')
    assert started.returncode == 0, started.stderr
    assert '"max_open_trades": 2' in started.stdout
    twice = cli(server, "start")
    assert twice.returncode == 1 and "error 409" in twice.stderr and "running" in twice.stderr
    assert post(server, "resume").status_code == 409  # running: nothing to resume
    assert cli(server, "halt", "--reason", "from the cli").returncode == 0
    assert status(server)["halted_reason"] == "from the cli"
    assert post(server, "start").status_code == 409 and "resume or stop" in post(server, "start").json()["detail"]
    assert cli(server, "resume").returncode == 0 and status(server)["state"] == "running"
    inject(server, RELIANCE, 0.01, h=300, id=1)
    flattened = cli(server, "flatten", "--reason", "cli")
    assert flattened.returncode == 0 and '"errors": []' in flattened.stdout
    trades = cli(server, "trades")
    assert trades.returncode == 0 and "trades" in trades.stdout
    positions = cli(server, "positions")
    assert positions.returncode == 0 and '"venue": "paper"' in positions.stdout
    assert cli(server, "stop").returncode == 0 and status(server)["state"] == "stopped"
    stopped = cli(server, "flatten")
    assert stopped.returncode == 1 and "nothing to flatten" in stopped.stderr


def test_on_a_server_that_may_trade_live_no_client_speaks_for_the_engine(server_factory, upstox: FakeUpstox) -> None:  # type: ignore[no-untyped-def]
    """SIGNALDESK_EVENTS_ALLOW_ENGINE_TYPES (the test rigs' switch, on in ServerProcess) is
    ignored once live trading is enabled: an `hft.start` claiming live trading stays refused."""
    server: ServerProcess = server_factory(
        env={**env(upstox, live=True), "SIGNALDESK_EVENTS_ALLOW_ENGINE_TYPES": "true"}
    )
    server.start()
    claim = {"broker": "upstox", "safe_mode": False, "live_trading_enabled": True, "limits": {}}
    answer = server.publish("hft", "hft.start", claim)
    assert answer.status_code == 403 and "hft.start" in answer.json()["detail"], answer.text
    assert httpx.get(f"{server.http}/api/events", params={"channel": "hft"}).json()["events"] == []
