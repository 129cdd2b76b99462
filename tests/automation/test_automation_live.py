"""Automation runs on a real server: retrain at start-up on simulated history, the other kinds,
schedules over REST, and the CLI following a run."""

from __future__ import annotations

from typing import Any

import httpx
from websockets.asyncio.client import connect

from tests.support.cli import signaldesk
from tests.support.server import ServerProcess
from tests.support.ws import recv_ready, recv_until
from tests.training.synthetic import RELIANCE, candles_csv, import_candles

TERMINAL = {"succeeded", "failed", "cancelled"}


def run_ended(ev: list[dict[str, Any]]) -> bool:
    return any(e["type"] == "automation_run.updated" and e["payload"].get("status") in TERMINAL for e in ev)


async def test_retrain_at_start_up_is_visible_on_both_channels(server_factory) -> None:
    env = {
        "SIGNALDESK_AUTOMATION_RETRAIN_AT_START": "true",
        "SIGNALDESK_AUTOMATION_BACKFILL_DAYS": "5",
        "SIGNALDESK_MARKET_UNIVERSE": "2",
        "SIGNALDESK_MARKET_SEED": "5",
    }
    server: ServerProcess = server_factory(env=env)
    server.start()
    page = lambda ch: httpx.get(f"{server.http}/api/events", params={"channel": ch, "limit": 1000}).json()  # noqa: E731
    async with connect(server.ws("automation", after=0, epoch=page("automation")["epoch"])) as ws:
        await recv_ready(ws)
        runs = await recv_until(ws, run_ended)
    assert runs[0]["type"] == "automation_run.started" and runs[0]["payload"]["kind"] == "retrain"
    job_id = runs[0]["payload"]["job_id"]
    updates = [e["payload"] for e in runs if e["type"] == "automation_run.updated"]
    assert all(u["job_id"] == job_id for u in updates)
    progress = [u["progress"] for u in updates if "progress" in u]
    assert progress == sorted(progress)
    final = updates[-1]
    assert final["status"] == "succeeded", final
    assert final["stats"]["jobs"] == 4 and final["stats"]["succeeded"] == 4  # 2 instruments x ridge, lgbm
    assert final["stats"]["backfill"]["rows"] == 2 * 5 * 375
    training = page("training")["events"]
    done = {e["payload"]["job_id"] for e in training if e["type"] == "training.succeeded"}
    assert done == {m["job_id"] for m in final["stats"]["models"]}
    run = httpx.get(f"{server.http}/api/automation/runs/{job_id}").json()
    assert run["status"] == "succeeded" and {c["job_id"] for c in run["children"]} == done
    assert len(httpx.get(f"{server.http}/api/models").json()["models"]) == 4


async def test_housekeeping_runs_and_schedules(server_factory) -> None:
    server: ServerProcess = server_factory(env={"SIGNALDESK_MARKET_SOURCE": "off"})
    server.start()
    base = f"{server.http}/api/automation"
    async with connect(server.ws("automation")) as ws:
        await recv_ready(ws)
        for kind in ("evaluate", "prune", "square_off"):
            r = httpx.post(f"{base}/runs", json={"kind": kind, "params": {}})
            assert r.status_code == 202, r.text
            events = await recv_until(ws, run_ended)
            assert events[-1]["payload"]["status"] == "succeeded", events[-1]
        assert events[-1]["payload"]["stats"] == {"closed": 0, "errors": [], "engine": True}  # nothing open
        r = httpx.post(f"{base}/runs", json={"kind": "backfill", "params": {}})  # no simulated market here
        assert r.status_code == 202
        events = await recv_until(ws, run_ended)
        assert events[-1]["payload"]["status"] == "failed" and "simulated market" in events[-1]["payload"]["error"]

    r = httpx.post(f"{base}/runs", json={"kind": "lgbm", "params": {}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "kind"]
    r = httpx.post(f"{base}/runs", json={"kind": "retrain", "params": {"kinds": ["svm"], "folds": 0}})
    assert {tuple(d["loc"]) for d in r.json()["detail"]} >= {
        ("body", "params", "kinds", 0),
        ("body", "params", "folds"),
    }

    r = httpx.post(f"{base}/schedules", json={"name": "close", "kind": "square_off", "cron": "20 15 * * 1-5"})
    assert r.status_code == 201, r.text
    schedule = r.json()
    assert schedule["timezone"] == "Asia/Kolkata" and schedule["next_ts"] is not None
    assert httpx.post(f"{base}/schedules", json={"name": "x", "kind": "prune", "cron": "61 * * * *"}).status_code == 422
    r = httpx.post(
        f"{base}/schedules", json={"name": "x", "kind": "prune", "cron": "0 9 * * *", "timezone": "Mars/Base"}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "timezone"]
    r = httpx.post(f"{base}/schedules", json={"name": "x", "kind": "prune", "cron": "0 9 * * *", "params": {"bad": 1}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "params", "bad"]
    sid = schedule["schedule_id"]
    r = httpx.patch(f"{base}/schedules/{sid}", json={"cron": "25 15 * * 1-5", "enabled": False})
    assert r.status_code == 200 and r.json()["cron"] == "25 15 * * 1-5" and r.json()["next_ts"] is None
    assert [s["schedule_id"] for s in httpx.get(f"{base}/schedules").json()["schedules"]] == [sid]
    assert httpx.delete(f"{base}/schedules/{sid}").status_code == 204
    assert httpx.get(f"{base}/schedules/{sid}").status_code == 404


def test_cli_follows_a_job_and_exits_non_zero_when_it_fails(server_factory) -> None:
    server: ServerProcess = server_factory(env={"SIGNALDESK_MARKET_SOURCE": "off"})
    server.start()
    import_candles(server.http, RELIANCE, candles_csv(6, phi=0.4))
    ok = signaldesk("train", "run", "ridge", "-i", RELIANCE, "--url", server.http)
    assert ok.returncode == 0, ok.stderr
    assert "promoted" in ok.stderr and '"model_id"' in ok.stdout
    bad = signaldesk("train", "run", "ridge", "-i", "NSE_EQ|INE000000000", "--url", server.http)
    assert bad.returncode == 1 and "unknown instrument" in bad.stderr
    run = signaldesk("automation", "run", "evaluate", "--url", server.http)
    assert run.returncode == 0, run.stderr
