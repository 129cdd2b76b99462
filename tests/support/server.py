"""A real signaldesk server in a child process, on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.prefork import PREFORK, ForkedProcess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChildProcess:
    """A process a test started: stopped politely (SIGTERM, then SIGKILL) or killed."""

    proc: subprocess.Popen[bytes] | ForkedProcess | None = None
    stop_timeout = 10.0

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.kill()


class ServerProcess(ChildProcess):
    """`python -m app serve` with its own data dir and environment; restartable, killable."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, argv: list[str] | None = None) -> None:
        self.data_dir = data_dir
        self.argv = argv or ["-m", "app", "serve"]
        # Tests publish the engine's own types (hft.*) as sample events through POST /api/events.
        self.env = {
            "SIGNALDESK_HEARTBEAT_INTERVAL": "0.5",
            "SIGNALDESK_EVENTS_ALLOW_ENGINE_TYPES": "true",
            **(env or {}),
        }
        self.port = free_port()
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, channel: str, **query: object) -> str:
        qs = "&".join(f"{k}={v}" for k, v in query.items() if v is not None)
        return f"ws://127.0.0.1:{self.port}/api/ws/{channel}" + (f"?{qs}" if qs else "")

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, **self.env, "SIGNALDESK_LOG_FORMAT": "console"}
        options = ["--port", str(self.port), "--data-dir", str(self.data_dir)]
        if self.argv == ["-m", "app", "serve"]:
            self.proc = PREFORK.start(["serve", *options], env=env, stdout=self.log_path)
        else:  # --workers, a plain uvicorn: an interpreter of its own
            with self.log_path.open("ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, *self.argv, *options], env=env, stdout=log, stderr=subprocess.STDOUT
                )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.http}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"server not healthy after {timeout}s:\n{self.log_path.read_text()}")

    def start_predictor(self, body: dict[str, object]) -> httpx.Response:
        """POST /api/predictor/start. A first start loads the predictor's compiled kernels in a
        thread beside it (app.predictor.service), which holds the GIL much of the time: on this
        2-core machine, with the other test process busy, the answer once took longer than
        httpx's default 5 s, so this waits up to 30."""
        return httpx.post(f"{self.http}/api/predictor/start", json=body, timeout=30.0)

    def publish(self, channel: str, type: str, payload: dict[str, object], **kw: object) -> httpx.Response:
        return httpx.post(f"{self.http}/api/events", json={"channel": channel, "type": type, "payload": payload}, **kw)
