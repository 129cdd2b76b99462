"""CPU-heavy work in a worker process, with progress and abort over a pipe drained on the event loop.

Each call gets its own process, forked from a forkserver that has already imported the heavy
modules (`preload`), so a start costs milliseconds and a crash, a kill or a leak takes only
that one job with it. The parent never blocks: the pipe and the process sentinel are watched
with `loop.add_reader`, so progress reaches the event loop as it happens and a process that
dies without answering is noticed at once (WorkerDied, with the signal or exit code).

Cancelling the awaiting task is the abort request: the worker sees it at its next
`reporter.check()` and stops (JobAborted); one that does not within `grace` seconds is
terminated, then killed. A worker whose server has gone away stops at its next check too.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import multiprocessing.synchronize
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from app.jobs.errors import JobAborted, WorkerDied, WorkerError

Metrics = dict[str, Any]
ProgressCallback = Callable[[float, str, Metrics], Awaitable[None]]
# What a worker runs: a function, or its import string "package.module:function", resolved in
# the worker process (so the server never imports the module: LightGBM, scikit-learn).
Work = Callable[..., Any] | str


def resolve(work: Work) -> Callable[..., Any]:
    """The function `work` names ("package.module:function"), imported here; a function as it is."""
    if not isinstance(work, str):
        return work
    module, sep, name = work.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"{work!r} is not an import string (package.module:function)")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return fn


class Reporter:
    """What the work in a worker process holds: report progress, honour an abort."""

    def __init__(self, conn: multiprocessing.connection.Connection, abort: multiprocessing.synchronize.Event) -> None:
        self._conn = conn
        self._abort = abort
        self._parent = multiprocessing.parent_process()

    def progress(self, fraction: float, message: str = "", metrics: Metrics | None = None) -> None:
        self.check()
        self._conn.send(("progress", float(fraction), message, metrics or {}))

    def check(self) -> None:
        """Raise JobAborted when an abort was requested or the server is gone."""
        if self._abort.is_set():
            raise JobAborted("cancelled")
        if self._parent is not None and not self._parent.is_alive():
            raise JobAborted("the server process is gone")


class NullReporter:
    """A Reporter for running work in-process (benchmarks, tests): prints nothing, never aborts."""

    def __init__(self, on_progress: Callable[[float, str, Metrics], None] | None = None) -> None:
        self._on_progress = on_progress

    def progress(self, fraction: float, message: str = "", metrics: Metrics | None = None) -> None:
        if self._on_progress is not None:
            self._on_progress(fraction, message, metrics or {})

    def check(self) -> None:
        return None


def _child_main(
    work: Work,
    args: Sequence[Any],
    conn: multiprocessing.connection.Connection,
    abort: multiprocessing.synchronize.Event,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on the server's terminal: the server decides
    reporter = Reporter(conn, abort)
    try:
        result = resolve(work)(*args, reporter)
        message: tuple[Any, ...] = ("result", result)
    except JobAborted as e:
        message = ("aborted", e.reason)
    except BaseException as e:  # noqa: BLE001 - everything goes back to the parent as text
        message = ("error", type(e).__name__, str(e) or repr(e))
    with contextlib.suppress(OSError):
        conn.send(message)
    conn.close()


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "the worker process vanished"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the worker process was killed by {name}"
    return f"the worker process exited with code {exitcode} without a result"


class WorkerPool:
    """Starts one worker process per call, forked from a forkserver with `preload` imported.

    :param preload: modules the forkserver imports once (e.g. LightGBM) so workers start fast.
    :param grace: seconds a worker gets to honour an abort before it is terminated.
    """

    def __init__(self, *, preload: Sequence[str] = (), grace: float = 5.0) -> None:
        self.context: multiprocessing.context.BaseContext = multiprocessing.get_context("forkserver")
        if preload:
            self.context.set_forkserver_preload(list(preload))  # type: ignore[attr-defined]
        self.grace = grace

    async def run(
        self,
        work: Work,
        *args: Any,
        on_progress: ProgressCallback | None = None,
        on_start: Callable[[int], Awaitable[None]] | None = None,
    ) -> Any:
        """`work(*args, reporter)` in a worker process; its return value, or the error it raised
        (`work`: a function, or an import string the worker process resolves).

        :param on_progress: awaited for each `reporter.progress(...)`, in order.
        :param on_start: awaited with the worker's pid once it runs.
        """
        reader, writer = self.context.Pipe(duplex=False)
        abort = self.context.Event()
        process = self.context.Process(target=_child_main, args=(work, args, writer, abort), daemon=True)  # type: ignore[attr-defined]
        # The first start launches the forkserver and its imports: seconds, off the loop.
        await asyncio.to_thread(process.start)
        writer.close()
        messages: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        exited = loop.create_future()

        def drain() -> None:
            try:
                while reader.poll():
                    messages.put_nowait(reader.recv())
            except (EOFError, OSError):
                loop.remove_reader(reader.fileno())

        def on_exit() -> None:
            loop.remove_reader(process.sentinel)
            drain()  # everything the worker sent before it ended
            process.join(0)
            if not exited.done():
                exited.set_result(process.exitcode)
            messages.put_nowait(("exit", process.exitcode))

        loop.add_reader(reader.fileno(), drain)
        loop.add_reader(process.sentinel, on_exit)
        try:
            if on_start is not None and process.pid is not None:
                await on_start(process.pid)
            while True:
                message = await messages.get()
                kind = message[0]
                if kind == "progress":
                    if on_progress is not None:
                        await on_progress(message[1], message[2], message[3])
                elif kind == "result":
                    return message[1]
                elif kind == "aborted":
                    raise JobAborted(message[1])
                elif kind == "error":
                    raise WorkerError(message[1], message[2])
                elif kind == "exit":
                    raise WorkerDied(process.pid, message[1], describe_exit(message[1]))
        except asyncio.CancelledError:
            abort.set()  # the request; `finally` enforces it after the grace period
            raise
        finally:
            with contextlib.suppress(Exception):
                loop.remove_reader(reader.fileno())
            if not exited.done():
                await self._stop(process, exited)
            with contextlib.suppress(Exception):
                loop.remove_reader(process.sentinel)
            reader.close()

    async def _stop(self, process: multiprocessing.process.BaseProcess, exited: asyncio.Future[Any]) -> None:
        """Give the worker `grace` seconds to honour the abort, then terminate, then kill."""
        for action in (None, process.terminate, process.kill):
            if action is not None and process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    action()
            try:
                await asyncio.wait_for(asyncio.shield(exited), self.grace if action is None else 2.0)
                return
            except TimeoutError:
                continue
        await asyncio.to_thread(process.join, 1.0)
