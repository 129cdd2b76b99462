"""Training jobs end to end: a real server, its WebSocket channels, REST and worker processes."""

from __future__ import annotations

import os
import signal
from typing import Any

import httpx
from websockets.asyncio.client import connect

from app.events import CONTRACT
from tests.support.server import ServerProcess
from tests.support.ws import heartbeat_gaps, recv_ready, recv_until
from tests.training.synthetic import RELIANCE, SLOW_LGBM, candles_csv, import_candles

QUIET = {"SIGNALDESK_MARKET_SOURCE": "off"}


def ended(job_id: str) -> Any:
    return lambda ev: any(
        e["type"] in ("training.succeeded", "training.failed") and e["payload"]["job_id"] == job_id for e in ev
    )


def in_worker(job_id: str) -> Any:
    """Until the job's worker process has reported (its first message: samples and folds)."""
    return lambda ev: any(
        e["type"] == "training.progress"
        and e["payload"]["job_id"] == job_id
        and e["payload"]["message"].endswith("folds")
        for e in ev
    )


def submit(server: ServerProcess, kind: str, **params: Any) -> dict[str, Any]:
    r = httpx.post(
        f"{server.http}/api/training/jobs", json={"kind": kind, "params": {"instrument_key": RELIANCE, **params}}
    )
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    return job


async def test_training_job_end_to_end(server_factory) -> None:
    server: ServerProcess = server_factory(env=QUIET)
    server.start()
    import_candles(server.http, RELIANCE, candles_csv(6, phi=0.4))
    async with connect(server.ws("training")) as ws:
        await recv_ready(ws)
        job = submit(server, "lgbm")
        assert job["status"] == "queued"
        events = await recv_until(ws, ended(job["job_id"]))
    for e in events:
        model = CONTRACT["training"][e["type"]]
        assert model.model_validate(e["payload"]).model_dump(mode="json") == e["payload"]
    assert [e["type"] for e in events][0] == "training.started"
    assert events[0]["payload"] == {
        "job_id": job["job_id"],
        "kind": "lgbm",
        "instrument_key": RELIANCE,
        "interval": "1m",
    }
    progress = [e["payload"] for e in events if e["type"] == "training.progress"]
    values = [p["progress"] for p in progress]
    assert values == sorted(values) and values[-1] == 1.0 and len(set(values)) >= 6
    folds = [p["metrics"] for p in progress if "fold" in p["metrics"]]
    assert [f["fold"] for f in folds] == [1, 2, 3, 4, 5]
    assert all({"val_mae", "hit_rate", "baseline_mae", "baseline_hit_rate"} <= f.keys() for f in folds)
    assert events[-1]["type"] == "training.succeeded"
    result = events[-1]["payload"]["result"]
    assert {"model_id", "metrics", "samples", "trained_range", "duration"} <= result.keys()
    assert result["metrics"]["mae_ratio"] < 1 and result["promoted"] is True, result["decision"]

    models = httpx.get(f"{server.http}/api/models", params={"instrument_key": RELIANCE}).json()["models"]
    assert [m["model_id"] for m in models] == [result["model_id"]]
    assert models[0]["promoted"] and models[0]["trained_range"] == result["trained_range"]
    stored = httpx.get(f"{server.http}/api/training/jobs/{job['job_id']}").json()
    assert stored["status"] == "succeeded" and stored["progress"] == 1.0 and stored["result"] == result

    # A second model on the same data that is no better is kept, not promoted, and says why.
    async with connect(server.ws("training")) as ws:
        await recv_ready(ws)
        again = submit(server, "lgbm")
        events = await recv_until(ws, ended(again["job_id"]))
    second = events[-1]["payload"]["result"]
    assert second["promoted"] is False and "does not beat the incumbent" in second["decision"]
    promoted = httpx.get(f"{server.http}/api/models", params={"promoted": True}).json()["models"]
    assert [m["model_id"] for m in promoted] == [result["model_id"]]


async def test_promoted_model_drives_the_predictor(server_factory) -> None:
    server: ServerProcess = server_factory(env={"SIGNALDESK_MARKET_SPEED": "600", "SIGNALDESK_MARKET_SEED": "3"})
    server.start()
    import_candles(server.http, RELIANCE, candles_csv(6, phi=0.4))
    async with connect(server.ws("training")) as ws:
        await recv_ready(ws)
        job = submit(server, "ridge")
        result = (await recv_until(ws, ended(job["job_id"])))[-1]["payload"]["result"]
    assert result["promoted"], result["decision"]
    r = server.start_predictor({"instruments": [RELIANCE], "cfg": {"min_history": 1}})
    assert r.status_code == 200, r.text
    async with connect(server.ws("prediction")) as ws:
        await recv_ready(ws)
        events = await recv_until(ws, lambda ev: any(e["type"] == "prediction.created" for e in ev))
    created = [e["payload"] for e in events if e["type"] == "prediction.created"]
    assert created[0]["model_kind"] == f"ridge:{result['model_id']}"


async def test_cancel_mid_training(server_factory) -> None:
    server: ServerProcess = server_factory(env=QUIET)
    server.start()
    import_candles(server.http, RELIANCE, candles_csv(6))
    async with connect(server.ws("training")) as ws:
        await recv_ready(ws)
        job = submit(server, "lgbm", **SLOW_LGBM)
        await recv_until(ws, in_worker(job["job_id"]))
        r = httpx.post(f"{server.http}/api/training/jobs/{job['job_id']}/cancel")
        assert r.status_code == 200, r.text
        events = await recv_until(ws, ended(job["job_id"]), timeout=15)
    assert events[-1]["type"] == "training.failed"
    assert events[-1]["payload"]["error"].startswith("cancelled")
    stored = httpx.get(f"{server.http}/api/training/jobs/{job['job_id']}").json()
    assert stored["status"] == "cancelled" and stored["finished_ts"] is not None and stored["worker_pid"] is None
    assert httpx.post(f"{server.http}/api/training/jobs/{job['job_id']}/cancel").status_code == 409
    assert httpx.get(f"{server.http}/api/models").json()["models"] == []


async def test_killed_worker_ends_the_job_failed(server_factory) -> None:
    server: ServerProcess = server_factory(env=QUIET)
    server.start()
    import_candles(server.http, RELIANCE, candles_csv(6))
    async with connect(server.ws("training")) as ws:
        await recv_ready(ws)
        job = submit(server, "lgbm", **SLOW_LGBM)
        await recv_until(ws, in_worker(job["job_id"]))
        pid = httpx.get(f"{server.http}/api/training/jobs/{job['job_id']}").json()["worker_pid"]
        assert pid and pid != server.proc.pid
        os.kill(pid, signal.SIGKILL)
        events = await recv_until(ws, ended(job["job_id"]), timeout=15)
    assert events[-1]["type"] == "training.failed"
    assert events[-1]["payload"]["error"] == "the worker process was killed by SIGKILL"
    assert httpx.get(f"{server.http}/api/training/jobs/{job['job_id']}").json()["status"] == "failed"


async def test_server_restart_ends_a_running_job_failed(server_factory) -> None:
    server: ServerProcess = server_factory(env=QUIET)
    server.start()
    import_candles(server.http, RELIANCE, candles_csv(6))
    async with connect(server.ws("training")) as ws:
        ready = await recv_ready(ws)
        job = submit(server, "lgbm", **SLOW_LGBM)
        seen = await recv_until(ws, in_worker(job["job_id"]))
    server.kill()
    server.start()
    async with connect(server.ws("training", after=seen[-1]["id"], epoch=ready["epoch"])) as ws:
        assert (await recv_ready(ws))["resumed"] is True
        events = await recv_until(ws, ended(job["job_id"]), timeout=15)
    assert events[-1]["type"] == "training.failed"
    assert events[-1]["payload"]["error"].startswith("interrupted: the server stopped while it was running")
    stored = httpx.get(f"{server.http}/api/training/jobs/{job['job_id']}").json()
    assert stored["status"] == "failed" and stored["error"] == events[-1]["payload"]["error"]


async def test_event_loop_stays_responsive_during_training(server_factory) -> None:
    server: ServerProcess = server_factory(env={**QUIET, "SIGNALDESK_HEARTBEAT_INTERVAL": "0.2"})
    server.start()
    import_candles(server.http, RELIANCE, candles_csv(6))
    async with connect(server.ws("training")) as ws:
        await recv_ready(ws)
        job = submit(server, "lgbm", **SLOW_LGBM)
        await recv_until(ws, in_worker(job["job_id"]))
        gaps = await heartbeat_gaps(server.ws("hft"))  # while the job trains
        assert httpx.get(f"{server.http}/api/training/jobs/{job['job_id']}").json()["status"] == "running"
    assert max(gaps) < 0.2 * 4, gaps


async def test_bad_requests_get_clear_answers(server_factory) -> None:
    server: ServerProcess = server_factory(env=QUIET)
    server.start()
    base = f"{server.http}/api/training/jobs"
    r = httpx.post(base, json={"kind": "xgboost", "params": {"instrument_key": RELIANCE}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "kind"] and "lgbm" in r.text
    r = httpx.post(base, json={"kind": "backfill", "params": {}})  # an automation kind
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "kind"]
    r = httpx.post(
        base,
        json={
            "kind": "lgbm",
            "params": {"instrument_key": "nope", "horizons": [0], "folds": 1, "num_leaves": "many", "colour": 1},
        },
    )
    assert r.status_code == 422
    locs = {tuple(d["loc"]) for d in r.json()["detail"]}
    assert locs >= {
        ("body", "params", "instrument_key"),
        ("body", "params", "horizons", 0),
        ("body", "params", "folds"),
        ("body", "params", "num_leaves"),
        ("body", "params", "colour"),
    }
    assert httpx.get(base).json()["jobs"] == []
    assert httpx.get(f"{base}/nope").status_code == 404
    assert httpx.post(f"{base}/nope/cancel").status_code == 404

    async with connect(server.ws("training")) as ws:
        await recv_ready(ws)
        unknown = submit(server, "ridge", instrument_key="NSE_EQ|INE000000000")
        events = await recv_until(ws, ended(unknown["job_id"]))
        assert events[-1]["type"] == "training.failed"
        assert events[-1]["payload"]["error"].startswith(
            "unknown instrument: no 1m candles stored for NSE_EQ|INE000000000"
        )
        import_candles(server.http, RELIANCE, candles_csv(1))
        short = submit(server, "ridge")
        events = await recv_until(ws, ended(short["job_id"]))
        assert events[-1]["type"] == "training.failed"
        assert events[-1]["payload"]["error"].startswith("too little data: ")
    statuses = {j["job_id"]: j["status"] for j in httpx.get(base).json()["jobs"]}
    assert statuses == {unknown["job_id"]: "failed", short["job_id"]: "failed"}
