"""A real `signaldesk worker` in a child process, and a job-queue deployment for one test."""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.support.prefork import PREFORK
from tests.support.server import ChildProcess

READY = re.compile(r"signaldesk (worker \S+): taking jobs from")


class WorkerProcess(ChildProcess):
    """`python -m app worker` on a data dir; `holder` is its id once started."""

    stop_timeout = 15.0

    def __init__(self, data_dir: Path, env: dict[str, str], args: list[str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = env
        self.args = args or []
        self.log_path = data_dir.parent / f"{data_dir.name}-worker-{secrets.token_hex(2)}.log"
        self.holder = ""

    def start(self, timeout: float = 30.0) -> None:
        env = {**os.environ, **self.env, "SIGNALDESK_LOG_FORMAT": "console"}
        self.proc = PREFORK.start(
            ["worker", "--data-dir", str(self.data_dir), *self.args], env=env, stdout=self.log_path
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            found = READY.search(self.log_path.read_text())
            if found:
                self.holder = found.group(1)
                return
            time.sleep(0.05)
        raise TimeoutError(f"worker not ready after {timeout}s:\n{self.log_path.read_text()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text()


@dataclass
class QueueDeployment:
    """Servers and workers of one test: a Redis bus and job queue under a unique prefix."""

    redis_url: str
    data_dir: Path
    prefix: str = field(default_factory=lambda: f"sdtest-{secrets.token_hex(4)}")
    lease: float = 2.0
    workers: list[WorkerProcess] = field(default_factory=list)
    job_ids: set[str] = field(default_factory=set)

    @property
    def env(self) -> dict[str, str]:
        return {
            "SIGNALDESK_BUS_URL": self.redis_url,
            "SIGNALDESK_BUS_PREFIX": self.prefix,
            "SIGNALDESK_JOB_QUEUE": "redis",
            "SIGNALDESK_JOB_LEASE": str(self.lease),
            "SIGNALDESK_MARKET_SOURCE": "off",
        }

    @property
    def queue_name(self) -> str:
        return f"{self.prefix}:jobs:queue"

    def worker(self, *args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        made = WorkerProcess(self.data_dir, {**self.env, **(env or {})}, list(args))
        self.workers.append(made)
        made.start()
        return made

    def cleanup(self) -> None:
        """Stop the workers; delete every key of the prefix and arq's keys of this test's jobs."""
        for w in self.workers:
            w.stop()
        client = redis.Redis.from_url(self.redis_url)
        try:
            keys = list(client.scan_iter(f"{self.prefix}:*"))
            for job_id in self.job_ids:
                keys += [f"arq:{part}:{job_id}" for part in ("job", "in-progress", "retry", "result")]
            if keys:
                client.delete(*keys)
            if self.job_ids:
                client.zrem("arq:abort", *self.job_ids)
        finally:
            client.close()


@contextmanager
def queue_deployment(redis_url: str, data_dir: Path) -> Iterator[QueueDeployment]:
    deployment = QueueDeployment(redis_url, data_dir)
    try:
        yield deployment
    finally:
        deployment.cleanup()


def ancestors(pid: int) -> list[int]:
    """The pids above `pid`, nearest first (from /proc)."""
    chain: list[int] = []
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        chain.append(pid)
    return chain
