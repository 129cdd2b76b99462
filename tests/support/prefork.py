"""`python -m app ...` started by forking a process that has already imported the app.

A new interpreter spends ~1.7 s of a server's ~2 s start importing the app (FastAPI,
SQLAlchemy, pandas, the numba kernels...), and the suite starts some hundreds of servers and
CLI runs. So each test process keeps one *prefork* process that imported them once; a start
sends it the arguments, the environment and where the output goes, and it forks a child that
becomes `python -m app <args>` from there: the same code in a process of its own, with its own
environment, working directory, output, signals and exit code. Only the interpreter's start-up
is shared. Servers run another way (`serve --workers`, a plain uvicorn) and the concurrent
`db upgrade`s still start interpreters of their own, so that path stays tested.

The prefork process is the child's parent: it reaps it and keeps its exit code. The test holds
a pidfd of the child (a signal reaches that process and no other, even once its pid is reused),
and asks for the code when the pidfd says the child has ended. `ForkedProcess` answers as
`subprocess.Popen` does: pid, poll, wait, send_signal, terminate, kill, returncode.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class ForkedProcess:
    """A child of the prefork process, held by its pidfd."""

    def __init__(self, prefork: Prefork, pid: int, args: list[str]) -> None:
        self.prefork, self.pid, self.args = prefork, pid, args
        self.returncode: int | None = None
        try:
            self.pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:  # ended (and reaped) already
            self.pidfd = None

    def poll(self) -> int | None:
        if self.returncode is None and (self.pidfd is None or select.select([self.pidfd], [], [], 0)[0]):
            self._ended()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if self.pidfd is not None and not select.select([self.pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self._ended()
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None and self.pidfd is not None:
            try:
                signal.pidfd_send_signal(self.pidfd, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _ended(self) -> None:
        self.returncode = self.prefork.request({"op": "status", "pid": self.pid})["returncode"]
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


class Prefork:
    """The client: one prefork process per test process, started on first use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[str] | None = None

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "tests.support.prefork"],
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                atexit.register(self.proc.stdin.close)  # type: ignore[union-attr]
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the prefork process ended")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def start(
        self, args: list[str], *, env: dict[str, str], stdout: Path, stderr: Path | None = None, cwd: Path | None = None
    ) -> ForkedProcess:
        """`python -m app *args` with exactly `env`, output appended to `stdout` (and `stderr`,
        or the same file), stdin from /dev/null. The files exist on return, as with Popen."""
        for path in (stdout, stderr or stdout):
            path.touch()
        message = {
            "op": "start",
            "args": args,
            "env": env,
            "stdout": str(stdout),
            "stderr": str(stderr or stdout),
            "cwd": str(cwd or os.getcwd()),
        }
        return ForkedProcess(self, self.request(message)["pid"], ["python", "-m", "app", *args])

    def run(self, args: list[str], *, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
        """As `subprocess.run(..., capture_output=True, text=True, timeout=)` would answer."""
        with tempfile.TemporaryDirectory(prefix="signaldesk-cli-") as tmp:
            out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
            child = self.start(args, env=env, stdout=out, stderr=err)
            try:
                code = child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                raise
            return subprocess.CompletedProcess(child.args, code, out.read_text(), err.read_text())


PREFORK = Prefork()


# --- the prefork process ------------------------------------------------------------------


def _serve() -> None:
    import numpy as np

    import app.cli
    import app.main  # noqa: F401 (imported for the children: that is the point)

    ended: dict[int, int] = {}

    def reap(*_: object) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            ended[pid] = os.waitstatus_to_exitcode(status)

    signal.signal(signal.SIGCHLD, reap)
    requests, answers = sys.stdin, sys.stdout
    for line in requests:
        message = json.loads(line)
        if message["op"] == "start":
            pid = os.fork()
            if pid == 0:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                np.random.seed()  # the legacy global generator; `random` reseeds itself at fork
                _become(message, app.cli.main)
            answer: dict[str, Any] = {"pid": pid}
        else:
            pid = message["pid"]
            if pid not in ended:
                try:
                    _, status = os.waitpid(pid, 0)
                    ended[pid] = os.waitstatus_to_exitcode(status)
                except ChildProcessError:  # reaped by `reap` meanwhile (or never a child: None)
                    pass
            answer = {"returncode": ended.pop(pid, None)}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def _become(message: dict[str, Any], main: Any) -> None:
    """In the forked child: `python -m app <args>` with the message's environment and files."""
    code = 1
    try:
        _redirect(0, os.devnull, os.O_RDONLY)
        _redirect(1, message["stdout"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        _redirect(2, message["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.chdir(message["cwd"])
        os.environ.clear()
        os.environ.update(message["env"])
        main_module = sys.modules["__main__"]
        main_module.__package__ = "app"  # the program's name in usage lines: `python -m app`
        sys.argv = [str(ROOT / "app" / "__main__.py"), *message["args"]]
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else _say(str(e.code)))
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def _redirect(fd: int, path: str, flags: int) -> None:
    opened = os.open(path, flags, 0o644)
    os.dup2(opened, fd)
    os.close(opened)


def _say(text: str) -> int:
    print(text, file=sys.stderr)
    return 1


if __name__ == "__main__":
    _serve()
