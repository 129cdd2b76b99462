"""Distributed jobs (SIGNALDESK_JOB_QUEUE=redis): real servers, real `signaldesk worker`
processes, real Redis; every event read from a server's WebSocket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
from websockets.asyncio.client import connect

from tests.support.cli import signaldesk
from tests.support.server import ServerProcess
from tests.support.services import require_redis
from tests.support.worker import QueueDeployment, WorkerProcess, ancestors, queue_deployment
from tests.support.ws import recv_ready
from tests.training.synthetic import RELIANCE, SLOW_LGBM, candles_csv, import_candles

TERMINAL = ("training.succeeded", "training.failed")


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[QueueDeployment]:
    with queue_deployment(require_redis(), tmp_path / "data") as made:
        yield made


class Follower:
    """Every event of one channel from a server's WebSocket, read in the background."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            frame = orjson.loads(raw)
            if frame["id"] is not None:
                self.events.append(frame)
                self._changed.set()

    async def until(self, predicate: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
        async def wait() -> None:
            while not predicate(self.events):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)
        return self.events

    def of(self, job_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["payload"].get("job_id") == job_id]

    def close(self) -> None:
        self._task.cancel()


def ended(job_id: str) -> Any:
    return lambda ev: any(e["type"] in TERMINAL and e["payload"]["job_id"] == job_id for e in ev)


def in_worker(job_id: str) -> Any:
    """Until the job's training process has reported (its first message: samples and folds)."""
    return lambda ev: any(
        e["type"] == "training.progress"
        and e["payload"]["job_id"] == job_id
        and e["payload"]["message"].endswith("folds")
        for e in ev
    )


def submit(deployment: QueueDeployment, server: ServerProcess, kind: str, **params: Any) -> dict[str, Any]:
    r = httpx.post(
        f"{server.http}/api/training/jobs", json={"kind": kind, "params": {"instrument_key": RELIANCE, **params}}
    )
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    deployment.job_ids.add(job["job_id"])
    return job


def stored(server: ServerProcess, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = httpx.get(f"{server.http}/api/training/jobs/{job_id}").json()
    return job


async def gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid):
        assert time.monotonic() < deadline, f"process {pid} still there after {timeout}s"
        await asyncio.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except FileNotFoundError:
        return "zombie"


async def test_jobs_run_on_a_worker_and_stream_through_the_server(deployment, server_factory) -> None:
    server: ServerProcess = server_factory(deployment.data_dir, deployment.env)
    server.start()
    worker = deployment.worker()
    import_candles(server.http, RELIANCE, candles_csv(6, phi=0.4))
    async with connect(server.ws("training")) as ws:
        await recv_ready(ws)
        follower = Follower(ws)
        job = submit(deployment, server, "lgbm")
        assert job["status"] == "queued"
        await follower.until(ended(job["job_id"]))
        follower.close()
    events = follower.of(job["job_id"])
    assert events[0]["type"] == "training.started"
    progress = [e["payload"] for e in events if e["type"] == "training.progress"]
    values = [p["progress"] for p in progress]
    assert values == sorted(values) and values[-1] == 1.0 and len(set(values)) >= 6
    assert [p["metrics"]["fold"] for p in progress if "fold" in p["metrics"]] == [1, 2, 3, 4, 5]
    assert [e["type"] for e in events].count("training.succeeded") == 1 and events[-1]["type"] == "training.succeeded"
    result = events[-1]["payload"]["result"]
    # Stored before it was published, in the database the server reads; the model in the shared registry.
    record = stored(server, job["job_id"])
    assert record["status"] == "succeeded" and record["result"] == result and record["worker_pid"] is None
    models = httpx.get(f"{server.http}/api/models", params={"instrument_key": RELIANCE}).json()["models"]
    assert [m["model_id"] for m in models] == [result["model_id"]]
    # The worker ran it (arq logs each job it takes), the server did not.
    assert f"{job['job_id']}:run_job" in worker.log()
    assert f"{job['job_id']}:run_job" not in server.log_path.read_text()

    # An automation run, and the training job it makes, run on the worker too.
    async with connect(server.ws("automation")) as auto_ws, connect(server.ws("training")) as train_ws:
        await recv_ready(auto_ws)
        await recv_ready(train_ws)
        runs, trainings = Follower(auto_ws), Follower(train_ws)
        r = httpx.post(
            f"{server.http}/api/automation/runs",
            json={"kind": "retrain", "params": {"instruments": [RELIANCE], "kinds": ["ridge"]}},
        )
        assert r.status_code == 202, r.text
        run_id = r.json()["job_id"]
        deployment.job_ids.add(run_id)
        await runs.until(
            lambda ev: any(e["payload"]["job_id"] == run_id and e["payload"].get("status") == "succeeded" for e in ev)
        )
        children = httpx.get(f"{server.http}/api/automation/runs/{run_id}").json()["children"]
        assert [c["kind"] for c in children] == ["ridge"] and children[0]["status"] == "succeeded"
        await trainings.until(ended(children[0]["job_id"]))
        runs.close()
        trainings.close()
    statuses = [e["payload"].get("status") for e in runs.of(run_id)]
    assert runs.of(run_id)[0]["type"] == "automation_run.started" and statuses[1] == "running"
    assert statuses.count("succeeded") == 1 and statuses[-1] == "succeeded"
    assert [e["type"] for e in trainings.of(children[0]["job_id"])][-1] == "training.succeeded"
    assert f"{run_id}:run_job" in worker.log()


@dataclass
class Training:
    server: ServerProcess
    worker: WorkerProcess
    follower: Follower
    job: dict[str, Any]
    trainer: int


@asynccontextmanager
async def training_on_a_worker(
    deployment: QueueDeployment, server_factory: Any, *worker_args: str
) -> AsyncIterator[Training]:
    """A slow lgbm job submitted to a server, running in a worker's training process."""
    server: ServerProcess = server_factory(deployment.data_dir, deployment.env)
    server.start()
    worker = deployment.worker(*worker_args)
    import_candles(server.http, RELIANCE, candles_csv(6))
    async with connect(server.ws("training")) as ws:
        await recv_ready(ws)
        follower = Follower(ws)
        job = submit(deployment, server, "lgbm", **SLOW_LGBM)
        await follower.until(in_worker(job["job_id"]))
        trainer = stored(server, job["job_id"])["worker_pid"]
        assert (
            worker.pid in ancestors(trainer) and server.proc is not None and server.proc.pid not in ancestors(trainer)
        )
        yield Training(server, worker, follower, job, trainer)


async def test_a_worker_killed_mid_training_ends_its_job_failed(deployment, server_factory) -> None:
    async with training_on_a_worker(deployment, server_factory) as t:
        server, worker, follower, job, trainer = t.server, t.worker, t.follower, t.job, t.trainer
        killed = time.monotonic()
        worker.kill()
        await follower.until(ended(job["job_id"]), timeout=20)
        took = time.monotonic() - killed
        terminal = follower.of(job["job_id"])[-1]
        assert terminal["type"] == "training.failed"
        assert terminal["payload"]["error"] == f"{worker.holder} stopped while it was running (its lease lapsed)"
        record = stored(server, job["job_id"])
        assert record["status"] == "failed" and record["error"] == terminal["payload"]["error"]
        await gone(trainer)  # the training process noticed its worker was gone and stopped

        # Another worker takes the next job; the failed one is never run again, nor ended twice.
        deployment.worker()
        after = submit(deployment, server, "ridge")
        await follower.until(ended(after["job_id"]))
        follower.close()
    types = [e["type"] for e in follower.of(job["job_id"])]
    assert types.count("training.started") == 1 and sum(t in TERMINAL for t in types) == 1
    assert follower.of(after["job_id"])[-1]["type"] == "training.succeeded"
    # The bound: the lease (2 s) plus a reaping period (half a lease) plus a tick.
    assert took < deployment.lease * 1.5 + 2.0, took


async def test_cancel_a_queued_and_a_running_job_on_the_worker(deployment, server_factory) -> None:
    async with training_on_a_worker(deployment, server_factory, "--concurrency", "1") as t:
        server, follower, running, trainer = t.server, t.follower, t.job, t.trainer
        waiting = submit(deployment, server, "ridge")  # the worker is full: it waits in the queue

        r = httpx.post(f"{server.http}/api/training/jobs/{waiting['job_id']}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        await follower.until(ended(waiting["job_id"]), timeout=5)
        assert follower.of(waiting["job_id"])[-1]["payload"]["error"] == "cancelled on request"

        r = httpx.post(f"{server.http}/api/training/jobs/{running['job_id']}/cancel")
        assert r.status_code == 200, r.text
        asked = time.monotonic()
        await follower.until(ended(running["job_id"]), timeout=15)
        took = time.monotonic() - asked
        assert follower.of(running["job_id"])[-1]["type"] == "training.failed"
        assert follower.of(running["job_id"])[-1]["payload"]["error"] == "cancelled on request"
        record = stored(server, running["job_id"])
        assert record["status"] == "cancelled" and record["worker_pid"] is None and record["finished_ts"] is not None
        await gone(trainer)
        assert httpx.post(f"{server.http}/api/training/jobs/{running['job_id']}/cancel").status_code == 409
        assert httpx.post(f"{server.http}/api/training/jobs/{waiting['job_id']}/cancel").status_code == 409

        # The worker takes the cancelled job from arq next and leaves it; then this one runs.
        last = submit(deployment, server, "ridge")
        await follower.until(ended(last["job_id"]))
        follower.close()
    assert [e["type"] for e in follower.of(waiting["job_id"])] == ["training.failed"]  # never started
    assert follower.of(last["job_id"])[-1]["type"] == "training.succeeded"
    assert stored(server, waiting["job_id"])["status"] == "cancelled"
    assert took < 10, took


async def test_bad_requests_get_the_same_answers_and_queue_nothing(deployment, server_factory) -> None:
    server: ServerProcess = server_factory(deployment.data_dir, deployment.env)
    server.start()
    base = f"{server.http}/api/training/jobs"
    r = httpx.post(base, json={"kind": "xgboost", "params": {"instrument_key": RELIANCE}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "kind"] and "lgbm" in r.text
    r = httpx.post(base, json={"kind": "backfill", "params": {}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "kind"]
    r = httpx.post(base, json={"kind": "lgbm", "params": {"instrument_key": "nope", "folds": 1}})
    assert r.status_code == 422
    assert {tuple(d["loc"]) for d in r.json()["detail"]} == {
        ("body", "params", "instrument_key"),
        ("body", "params", "folds"),
    }
    r = httpx.post(f"{server.http}/api/automation/runs", json={"kind": "retrain", "params": {"kinds": []}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "params", "kinds"]
    assert httpx.get(base).json()["jobs"] == []
    assert httpx.get(f"{base}/nope").status_code == 404
    assert httpx.post(f"{base}/nope/cancel").status_code == 404
    client = redis.Redis.from_url(deployment.redis_url)
    try:
        assert client.zcard(deployment.queue_name) == 0
    finally:
        client.close()


def test_a_queue_without_a_shared_bus_is_a_clear_config_error(tmp_path: Path) -> None:
    env = {"SIGNALDESK_JOB_QUEUE": "redis", "SIGNALDESK_DATA_DIR": str(tmp_path)}
    for command in ("serve", "worker"):
        done = signaldesk(command, env=env)
        assert done.returncode == 2, done
        assert "SIGNALDESK_JOB_QUEUE=redis needs SIGNALDESK_BUS_URL" in " ".join(done.stderr.split())
        assert "Traceback" not in done.stderr
    done = signaldesk("worker", env={"SIGNALDESK_JOB_QUEUE": "local", "SIGNALDESK_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2 and "a worker needs the Redis job queue" in " ".join(done.stderr.split()), done


async def test_a_stopped_worker_ends_its_jobs_failed(deployment, server_factory) -> None:
    """SIGTERM: the worker ends what it runs itself (stored, then published) and exits 0."""
    async with training_on_a_worker(deployment, server_factory) as t:
        server, worker, follower, job, trainer = t.server, t.worker, t.follower, t.job, t.trainer
        assert worker.proc is not None
        worker.proc.terminate()
        assert worker.proc.wait(15) == 0
        await follower.until(ended(job["job_id"]), timeout=5)
        follower.close()
    terminal = follower.of(job["job_id"])[-1]
    assert terminal["payload"]["error"] == f"interrupted: {worker.holder} shut down while it was running"
    record = stored(server, job["job_id"])
    assert record["status"] == "failed" and record["error"] == terminal["payload"]["error"]
    assert sum(e["type"] in TERMINAL for e in follower.of(job["job_id"])) == 1
    await gone(trainer)


async def test_cancel_reaches_a_training_job_a_run_made_on_the_worker(deployment, server_factory) -> None:
    """A retrain's training job runs in its parent's worker, not through arq: the abort request still reaches it."""
    server: ServerProcess = server_factory(deployment.data_dir, deployment.env)
    server.start()
    worker = deployment.worker()
    import_candles(server.http, RELIANCE, candles_csv(6))
    async with connect(server.ws("automation")) as auto_ws, connect(server.ws("training")) as train_ws:
        await recv_ready(auto_ws)
        await recv_ready(train_ws)
        runs, trainings = Follower(auto_ws), Follower(train_ws)
        r = httpx.post(
            f"{server.http}/api/automation/runs",
            json={
                "kind": "retrain",
                "params": {"instruments": [RELIANCE], "kinds": ["lgbm"], "training": {"lgbm": SLOW_LGBM}},
            },
        )
        assert r.status_code == 202, r.text
        run_id = r.json()["job_id"]
        deployment.job_ids.add(run_id)
        await trainings.until(
            lambda ev: any(e["type"] == "training.progress" and e["payload"]["message"].endswith("folds") for e in ev)
        )
        child = trainings.events[-1]["payload"]["job_id"]
        deployment.job_ids.add(child)
        trainer = stored(server, child)["worker_pid"]
        assert worker.pid in ancestors(trainer)
        r = httpx.post(f"{server.http}/api/training/jobs/{child}/cancel")
        assert r.status_code == 200, r.text
        await trainings.until(ended(child), timeout=15)
        await runs.until(
            lambda ev: any(e["payload"]["job_id"] == run_id and e["payload"].get("status") == "failed" for e in ev),
            timeout=15,
        )
        runs.close()
        trainings.close()
    assert trainings.of(child)[-1]["payload"]["error"] == "cancelled on request"
    run = httpx.get(f"{server.http}/api/automation/runs/{run_id}").json()
    assert run["status"] == "failed" and run["error"].endswith("lgbm: cancelled on request"), run["error"]
    assert [c["status"] for c in run["children"]] == ["cancelled"]
    await gone(trainer)
    assert f"{child}:run_job" not in worker.log()  # never through arq


async def test_a_run_on_the_servers_own_state_stays_on_the_server(deployment, server_factory) -> None:
    """square_off flattens the trading engine of the server that takes it: no worker is needed."""
    server: ServerProcess = server_factory(deployment.data_dir, deployment.env)
    server.start()
    async with connect(server.ws("automation")) as ws:
        await recv_ready(ws)
        runs = Follower(ws)
        r = httpx.post(f"{server.http}/api/automation/runs", json={"kind": "square_off", "params": {}})
        assert r.status_code == 202, r.text
        run_id = r.json()["job_id"]
        await runs.until(
            lambda ev: any(e["payload"]["job_id"] == run_id and e["payload"].get("status") == "succeeded" for e in ev),
            timeout=10,
        )
        runs.close()
    assert runs.of(run_id)[-1]["payload"]["stats"]["engine"] is True  # this server's trading engine
