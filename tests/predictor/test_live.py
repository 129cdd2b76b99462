"""The prediction channel end to end: a real server, the simulated market on a fast clock."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect

from app.events import CONTRACT
from app.predictor.store import PredictionStore
from tests.support.server import ServerProcess
from tests.support.storage import default_sqlite_unused, read_database
from tests.support.ws import answer_beside_heartbeats, heartbeat_gaps, recv_ready, recv_until

RELIANCE, TCS = "NSE_EQ|INE002A01018", "NSE_EQ|INE467B01029"
FAST_MARKET = {"SIGNALDESK_MARKET_SPEED": "1200", "SIGNALDESK_MARKET_SEED": "7"}
CFG = {"horizons": [1, 2], "model_kind": "ewma"}


def assert_exact_contract(event: dict[str, Any]) -> None:
    model = CONTRACT["prediction"][event["type"]]
    assert model.model_validate(event["payload"]).model_dump(mode="json") == event["payload"]


async def test_predictions_are_created_resolved_and_calibrated_live(server_factory) -> None:
    server: ServerProcess = server_factory(env=FAST_MARKET)
    server.start()
    async with connect(server.ws("prediction")) as ws:
        await recv_ready(ws)
        r = server.start_predictor({"instruments": [RELIANCE, TCS], "cfg": CFG})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "running"
        events = await recv_until(ws, lambda ev: sum(e["type"] == "predictor.cycle" for e in ev) >= 6)

    types = [e["type"] for e in events]
    assert types[0] == "predictor.start"
    assert events[0]["payload"] == {"instruments": [RELIANCE, TCS], "cfg": {**r.json()["cfg"]}}
    for event in events:
        assert_exact_contract(event)
    created = {e["payload"]["id"]: e["payload"] for e in events if e["type"] == "prediction.created"}
    resolved = [e["payload"] for e in events if e["type"] == "prediction.resolved"]
    assert created and resolved
    assert {p["instrument_key"] for p in created.values()} == {RELIANCE, TCS}
    assert {p["horizon_steps"] for p in created.values()} == {1, 2}
    assert all(p["model_kind"] == "ewma" for p in created.values())
    for res in resolved:
        made = created[res["id"]]
        assert (res["ts_pred"], res["ts_target"], res["pred_ret_adj"]) == (
            made["ts_pred"],
            made["ts_target"],
            made["pred_ret_adj"],
        )
        assert res["error"] == res["actual_ret"] - res["pred_ret_adj"]
        assert res["calibration"]["n"] >= 1
    # Per cycle: created, then resolved, then the cycle event with their counts.
    cycles = [i for i, t in enumerate(types) if t == "predictor.cycle"]
    for prev, end in zip(cycles, cycles[1:], strict=False):
        window = events[prev + 1 : end + 1]
        kinds = [e["type"] for e in window if e["type"].startswith("prediction.")]
        assert kinds == sorted(kinds, key=lambda t: t != "prediction.created")
        cycle = window[-1]["payload"]
        assert cycle["created"] == sum(e["type"] == "prediction.created" for e in window)
        assert cycle["resolved"] == sum(e["type"] == "prediction.resolved" for e in window)

    stored = httpx.get(f"{server.http}/api/predictions", params={"status": "resolved", "instrument_key": TCS}).json()
    assert stored["predictions"] and all(p["status"] == "resolved" for p in stored["predictions"])
    calibration = httpx.get(f"{server.http}/api/predictor/calibration").json()["calibration"]
    assert {(c["instrument_key"], c["horizon_steps"]) for c in calibration} >= {(RELIANCE, 1), (TCS, 1)}

    assert httpx.post(f"{server.http}/api/predictor/stop").json()["state"] == "stopped"
    page = httpx.get(f"{server.http}/api/events", params={"channel": "prediction", "limit": 1000}).json()
    assert page["events"][-1]["type"] == "predictor.stop"
    assert_evaluation_matches_the_record(server)


def assert_evaluation_matches_the_record(server: ServerProcess) -> None:
    """The live record's evaluation counts every resolved prediction; MASE against zero by hand."""
    record = httpx.get(f"{server.http}/api/predictions", params={"status": "resolved", "limit": 5000}).json()
    # the first job of the server starts its workers' forkserver, which imports what they preload
    # (LightGBM, statsmodels...): seconds on a busy 2-core machine, beyond httpx's default 5 s
    answer = httpx.get(f"{server.http}/api/predictor/evaluation", params={"from": 0}, timeout=60).json()
    assert 0 < answer["round_trip_cost"] < 0.01
    evaluations = {(e["model_kind"], e["horizon_steps"]): e for e in answer["evaluations"]}
    assert set(evaluations) == {("ewma", 1), ("ewma", 2)}
    for (_, horizon), e in evaluations.items():
        rows = [p for p in record["predictions"] if p["horizon_steps"] == horizon]
        assert e["n"] == len(rows) and e["anchors"] == len({p["ts_pred"] for p in rows})
        mae = sum(abs(p["error"]) for p in rows) / sum(abs(p["actual_ret"]) for p in rows)
        assert e["mase_zero"] == pytest.approx(mae)
        assert e["ic_mean"] is None  # two instruments are not a cross-section for a correlation
    r = httpx.get(f"{server.http}/api/predictor/evaluation", params={"from": 200, "to": 100})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "from"]


async def test_bad_requests_get_clear_answers_and_change_nothing(server_factory) -> None:
    server: ServerProcess = server_factory(env=FAST_MARKET)
    server.start()
    base = f"{server.http}/api/predictor"
    r = httpx.post(f"{base}/start", json={"instruments": ["NSE_EQ|NOPE"], "cfg": CFG})
    assert r.status_code == 422 and "NSE_EQ|NOPE" in r.text
    r = httpx.post(f"{base}/start", json={"instruments": [RELIANCE], "cfg": {"horizons": [0], "model_kind": "magic"}})
    assert r.status_code == 422
    assert {tuple(d["loc"]) for d in r.json()["detail"]} >= {
        ("body", "cfg", "horizons", 0),
        ("body", "cfg", "model_kind"),
    }
    r = httpx.post(f"{base}/start", json={"instruments": [RELIANCE], "cfg": {"interval": "1h"}})
    assert r.status_code == 409 and "1m" in r.text
    assert httpx.post(f"{base}/stop").status_code == 409
    assert httpx.get(f"{base}/status").json()["state"] == "stopped"
    assert httpx.post(f"{base}/start", json={"instruments": [RELIANCE], "cfg": CFG}).status_code == 200
    r = httpx.post(f"{base}/start", json={"instruments": [RELIANCE], "cfg": CFG})
    assert r.status_code == 409 and "already running" in r.text
    r = httpx.get(f"{server.http}/api/predictions", params={"status": "bogus"})
    assert r.status_code == 422


async def test_restart_resumes_the_run_and_resolution_of_open_predictions(database_env, server_factory) -> None:  # type: ignore[no-untyped-def]
    """On each relational store (SQLite, PostgreSQL: tests/conftest.py)."""
    server: ServerProcess = server_factory(env={**FAST_MARKET, **database_env})
    server.start()
    start = {"instruments": [RELIANCE], "cfg": {"horizons": [3], "model_kind": "zero"}}
    async with connect(server.ws("prediction")) as ws:
        ready = await recv_ready(ws)
        assert server.start_predictor(start).status_code == 200
        events = await recv_until(ws, lambda ev: sum(e["type"] == "prediction.created" for e in ev) >= 3)
    server.kill()
    open_before = {e["payload"]["id"] for e in events if e["type"] == "prediction.created"}
    url = database_env["SIGNALDESK_DATABASE_URL"]
    stored = await read_database(url, lambda db: PredictionStore(db).open_predictions())
    assert {p["id"] for p in stored} >= open_before and default_sqlite_unused(server.data_dir)

    server.start()  # no autostart: the run it was on resumes by itself
    async with connect(server.ws("prediction", after=events[-1]["id"], epoch=ready["epoch"])) as ws:
        assert (await recv_ready(ws))["resumed"] is True
        status = httpx.get(f"{server.http}/api/predictor/status").json()
        assert (status["state"], status["instruments"]) == ("running", [RELIANCE])
        assert status["cfg"]["horizons"] == [3] and status["cfg"]["model_kind"] == "zero"

        def settled(ev: list[dict[str, Any]]) -> bool:
            done = {e["payload"]["id"] for e in ev if e["type"] == "prediction.resolved"}
            expired = " ".join(e["payload"]["error"] for e in ev if e["type"] == "predictor.error")
            return all(i in done or f"{i} (" in expired for i in open_before)

        await recv_until(ws, settled)
    statuses = {p["id"]: p["status"] for p in httpx.get(f"{server.http}/api/predictions").json()["predictions"]}
    assert all(statuses[i] in ("resolved", "expired") for i in open_before)

    assert httpx.post(f"{server.http}/api/predictor/stop").status_code == 200
    server.stop()
    server.start()  # stopped by request: it stays stopped
    assert httpx.get(f"{server.http}/api/predictor/status").json()["state"] == "stopped"


async def test_heavy_cycles_do_not_stall_other_channels(server_factory) -> None:
    """300 instruments at 10 bars/s keep the predictor busy; an idle channel's heartbeats stay on time."""
    env = {
        **FAST_MARKET,
        "SIGNALDESK_MARKET_SPEED": "600",
        "SIGNALDESK_MARKET_UNIVERSE": "300",
        "SIGNALDESK_HEARTBEAT_INTERVAL": "0.2",
    }
    server: ServerProcess = server_factory(env=env)
    server.start()
    async with connect(server.ws("prediction")) as busy:
        await recv_ready(busy)
        everything = {"instruments": [], "cfg": {"model_kind": "ridge"}}  # no instruments: all the feed has
        assert server.start_predictor(everything).status_code == 200

        def busy_cycles(ev: list[dict[str, Any]]) -> bool:
            return sum(e["type"] == "predictor.cycle" and e["payload"]["created"] >= 300 for e in ev) >= 2

        await recv_until(busy, busy_cycles)
        gaps = await heartbeat_gaps(server.ws("hft"))
    assert max(gaps) < 0.2 * 4, gaps  # a client treats 2 intervals of silence as dead; we stay well inside


def seed_resolved_record(path: Path, instruments: int, sessions: int) -> int:
    """A desk's resolved record written straight into the database file: every 1-minute anchor
    of `sessions` sessions x `instruments` x horizons 1 and 5 (ridge), the forecast carrying a
    third of the outcome's deviation. Returns how many rows."""
    rng = np.random.default_rng(3)
    keys = [f"NSE_EQ|INE{i:06d}01016" for i in range(instruments)]
    rows = []
    for b in range(375 * sessions):
        ts = 1_765_000_000 + 86_400 * (b // 375) + 60 * (b % 375)
        for horizon in (1, 5):
            pred = rng.normal(0, 1e-3, instruments)
            actual = (pred + rng.normal(0, 3e-3, instruments)).tolist()
            for i, p in enumerate(pred.tolist()):
                rows.append((len(rows) + 1, keys[i], horizon, ts, ts + 60 * horizon, p, actual[i], actual[i] - p))
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO predictions (id, instrument_key, interval, horizon_steps, model_kind, ts_pred, ts_target, "
            "close_pred, pred_ret, pred_ret_adj, calib_bias, status, actual_ret, error) "
            "VALUES (?, ?, '1m', ?, 'ridge', ?, ?, 100.0, ?6, ?6, 0.0, 'resolved', ?, ?)",
            rows,
        )
    return len(rows)


async def test_evaluating_two_days_of_500_instruments_leaves_the_server_streaming(server_factory) -> None:
    """Read and evaluated in the server's process, such a record held its event loop for seconds
    (app.predictor.live_record): the stream's heartbeats stopped meanwhile."""
    server: ServerProcess = server_factory(
        env={"SIGNALDESK_MARKET_SOURCE": "off", "SIGNALDESK_HEARTBEAT_INTERVAL": "0.2"}
    )
    server.start()
    rows = seed_resolved_record(server.data_dir / "signaldesk.sqlite3", 500, sessions=2)
    async with connect(server.ws("hft")) as idle:
        await recv_ready(idle)
        asked, gaps = await answer_beside_heartbeats(idle, f"{server.http}/api/predictor/evaluation")
    assert len(gaps) >= 2 and max(gaps) < 0.2 * 4, gaps
    answer = asked.json()
    evaluations = {e["horizon_steps"]: e for e in answer["evaluations"]}
    assert sorted(evaluations) == [1, 5] and sum(e["n"] for e in evaluations.values()) == rows
    for e in evaluations.values():
        assert e["anchors"] == 750 and e["model_kind"] == "ridge"
        assert 0.2 < e["ic_mean"] < 0.5  # the forecast carries a third of the outcome's deviation
