"""A cluster of real server processes on Redis: one leader trades; a SIGKILLed leader is
replaced, the open trades are managed by the new one, and nothing is entered twice."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.support.server import ServerProcess
from tests.support.services import REDIS_URL
from tests.support.ws import recv_events, recv_ready
from tests.trading.live import FAST, Stream, assert_resumed_and_reconciled, inject, post, status
from tests.trading.stubs import KEYS

LEASE_TTL = 3.0  # a leader steps down after 2 s without a renewal: not on a loaded machine's start-up stall


@pytest.fixture
def cluster_env(tmp_path: Path, redis_prefix: str) -> dict[str, str]:
    """Settings for processes of one cluster: one Redis prefix, one database, one market."""
    return {
        **FAST,
        "SIGNALDESK_BUS_URL": REDIS_URL,
        "SIGNALDESK_BUS_PREFIX": redis_prefix,
        "SIGNALDESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}",
        "SIGNALDESK_MARKET_ANCHOR": str(time.time()),
        "SIGNALDESK_LEADER_LEASE_TTL": str(LEASE_TTL),
        "SIGNALDESK_HFT_COOLDOWN": "0",
    }


def health(server: ServerProcess) -> dict[str, object]:
    answer: dict[str, object] = httpx.get(f"{server.http}/api/health", timeout=5).json()
    return answer


def wait_until_leader(server: ServerProcess, timeout: float) -> float:
    """Seconds until `server` reports itself leader (fails after `timeout`)."""
    started = time.monotonic()
    while not health(server)["leader"]:
        assert time.monotonic() - started < timeout, f"{server.http} did not become leader within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - started


async def test_leader_routes_answer_from_any_process_and_failover_enters_nothing_twice(
    server_factory, tmp_path, cluster_env
) -> None:  # type: ignore[no-untyped-def]
    a: ServerProcess = server_factory(tmp_path / "a", cluster_env)
    b: ServerProcess = server_factory(tmp_path / "b", cluster_env)
    a.start()
    b.start()
    assert (health(a)["leader"], health(b)["leader"]) == (True, False)

    async with connect(b.ws("hft")) as ws:
        ready = await recv_ready(ws)
        stream = Stream(ws)
        assert post(b, "start").status_code == 200  # relayed to the leader
        steady = ("state", "broker", "safe_mode", "live_trading_enabled", "limits", "venue")  # not the moving market's
        relayed, direct = status(b), status(a)
        assert {k: relayed[k] for k in steady} == {k: direct[k] for k in steady} and direct["state"] == "running"
        assert post(b, "start").status_code == 409  # the leader's own answer, unchanged
        for k, key in enumerate(KEYS):  # published through the follower, traded by the leader only
            # 40 bars ahead (2 s at 1200x): still in the future when a loaded machine is slow to relay it
            inject(b, key, 0.01 if k % 2 else -0.01, h=300, id=k + 1, ahead=40)
        await stream.until(lambda ev: len(stream.open_ids()) == 3 and ev[-1]["type"] == "hft.trade_risk")
    held = stream.open_ids()
    entered_before = stream.of("hft.entry")
    assert len(entered_before) == 3 and len({p["instrument_key"] for p in entered_before}) == 3
    before = {p["instrument_key"]: p["qty"] for p in httpx.get(f"{a.http}/api/hft/positions").json()["positions"]}

    a.kill()
    took = wait_until_leader(b, timeout=4 / 3 * LEASE_TTL + 3)
    assert health(b)["leader_token"] > 1
    async with connect(b.ws("hft", after=stream.events[-1]["id"], epoch=ready["epoch"])) as ws:
        assert (await recv_ready(ws))["resumed"] is True
        after = Stream(ws)
        await after.until(lambda ev: "hft.broker" in [e["type"] for e in ev])
        await assert_resumed_and_reconciled(b, before, 3)
        flattened = post(b, "flatten").json()
        # what the flatten found open: the three, unless the moving market (1200x) closed one
        # first (its 300-bar horizon is 15 s here, and a loaded machine's failover takes seconds)
        assert flattened["errors"] == [] and 1 <= flattened["closed"] <= 3
        await after.until(lambda ev: after.of("hft.flatten") != [])
    assert after.of("hft.entry") == [], "the new leader entered a trade the old one had entered"
    assert after.of("hft.manage_error") == [] and after.of("hft.error") == []
    exits = [p["trade_id"] for p in after.of("hft.exit")]
    assert sorted(exits) == sorted(held), "each held trade closed once, by the new leader"
    assert [p["reason"] for p in after.of("hft.exit")].count("flatten") == flattened["closed"]
    print(f"failover: the follower led {took:.2f} s after the leader's SIGKILL (lease {LEASE_TTL} s)")


def test_workers_need_the_redis_bus(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--workers", "2", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "SIGNALDESK_MARKET_SOURCE": "off"},
    )
    assert result.returncode == 2
    assert "--workers 2 needs the shared Redis bus (SIGNALDESK_BUS_URL" in result.stderr
    assert "Traceback" not in result.stderr


async def test_workers_on_one_port_deliver_every_event_to_every_client(server_factory, tmp_path, cluster_env) -> None:  # type: ignore[no-untyped-def]
    env = {**cluster_env, "SIGNALDESK_MARKET_SOURCE": "off"}
    server: ServerProcess = server_factory(tmp_path / "w", env)
    server.argv = ["-m", "app", "serve", "--workers", "2"]
    server.start()
    clients = [await connect(server.ws("hft")) for _ in range(12)]
    for ws in clients:
        await recv_ready(ws)
    ids = [server.publish("hft", "hft.error", {"error": f"e{i}"}).json()["id"] for i in range(20)]
    for ws in clients:
        assert [e["id"] for e in await recv_events(ws, 20)] == ids
        await ws.close()


def prediction_log(server: ServerProcess) -> list[dict[str, object]]:
    """Every stored event of the prediction channel, oldest first."""
    events: list[dict[str, object]] = []
    while True:
        after = events[-1]["id"] if events else 0
        page = httpx.get(
            f"{server.http}/api/events", params={"channel": "prediction", "after": after, "limit": 1000}
        ).json()
        if not page["events"]:
            return events
        events += page["events"]


async def test_one_predictor_in_the_cluster_and_the_next_leader_resumes_it(
    server_factory, tmp_path, cluster_env
) -> None:  # type: ignore[no-untyped-def]
    env = {**cluster_env, "SIGNALDESK_PREDICTOR_AUTOSTART": "true"}
    a: ServerProcess = server_factory(tmp_path / "a", env)
    b: ServerProcess = server_factory(tmp_path / "b", env)
    a.start()
    b.start()
    async with connect(b.ws("prediction")) as ws:
        await recv_events(ws, 30, timeout=30)  # three cycles of the leader's predictions, read on the follower
    before = prediction_log(b)
    created = [e["payload"] for e in before if e["type"] == "prediction.created"]
    assert [e["type"] for e in before].count("predictor.start") == 1, "both processes autostart; one predicts"
    forecasts = [(p["instrument_key"], p["horizon_steps"], p["ts_pred"]) for p in created]
    assert len(forecasts) == len(set(forecasts)) >= 30

    a.kill()
    wait_until_leader(b, timeout=4 / 3 * LEASE_TTL + 3)
    async with connect(b.ws("prediction")) as ws:
        await recv_events(ws, 20, timeout=30)
    after = prediction_log(b)[len(before) :]
    assert [e["type"] for e in after].count("predictor.start") == 1, "the new leader resumed the predictor, once"
    ids = [e["payload"]["id"] for e in before + after if e["type"] == "prediction.created"]
    assert len(ids) == len(set(ids)), "no prediction id made twice across the failover"
