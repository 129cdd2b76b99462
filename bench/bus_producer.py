"""A producer process that publishes through a bus as fast as the bus takes the events.

It opens its own bus, as any process of the deployment would: with `--bus redis`, a
RedisEventBus on the cluster's Redis and prefix (a member of the cluster with no subscribers
of its own; the API processes' readers fan out what it publishes); with `--bus sqlite`, a
LocalEventBus on a fresh SQLite log with `synchronous=full` (fsync on every commit), the
single-process bus, which only its own process can read.

`--inflight` tasks each loop on `bus.publish_many(channel, [--batch events])`: every payload
is validated against the contract and every call returns only once its events are durable
(Redis: the Lua append's reply, after the AOF write; SQLite: after the commit). The bus's
writer takes whatever is queued when it is free (group commit, up to 4096 events per append),
so the producer keeps `inflight x batch` events queued or in flight: "as fast as the bus takes
them". Each event is `prediction` / `predictor.error` with payload
`{"error": "<time.time_ns()>"}`, so the bench's load client can time and check them.

Events are counted when their call returns; the window starts `--warmup` seconds after the
first call and lasts `--seconds`, then the producer goes on for `--tail` seconds (so a
subscriber's window, started a moment later, is covered too) and stops. CPU over the window:
its own, the `--server-pid`s' (summed: API processes and Redis), the `--client-pid`'s, and the
rest of the machine's ("other load").

JSON lines on stdout: {"phase": "ready"} once the bus is open, then waits for a line on
stdin, then {"phase": "result", ...}.

    python -m bench.bus_producer --bus redis --url redis://127.0.0.1:6390/0 --prefix P
    python -m bench.bus_producer --bus sqlite --data-dir DIR
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import sys
import time
from array import array
from pathlib import Path
from typing import Any

import orjson

from app.bus.base import BaseEventBus, Retention
from app.bus.local import LocalEventBus
from app.bus.redis_bus import RedisEventBus
from app.bus.sqlite_log import SqliteEventLog
from app.events import ContractValidator
from bench.load_client import _machine_busy_seconds, _proc_cpu_seconds, _procs_cpu_seconds, percentiles

CHANNEL = "prediction"
TYPE = "predictor.error"


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(orjson.dumps(obj).decode() + "\n")
    sys.stdout.flush()


def open_bus(args: argparse.Namespace) -> BaseEventBus:
    # no retention pass during a run: it would be one more thing measured
    retention = Retention(interval=3600)
    if args.bus == "redis":
        return RedisEventBus(args.url, ContractValidator(), prefix=args.prefix, retention=retention)
    log = SqliteEventLog(args.data_dir / "events.sqlite3", synchronous="full")
    return LocalEventBus(log, ContractValidator(), retention=retention)


class Producer:
    def __init__(self, bus: BaseEventBus, args: argparse.Namespace) -> None:
        self.bus = bus
        self.args = args
        self.measuring = False
        self.running = True
        self.events = 0  # acknowledged, in total
        self.win_events = 0  # acknowledged inside the window
        self.calls = array("q")  # ns per publish_many call inside the window
        self.first_id: int | None = None
        self.last_id: int | None = None
        self.errors = 0
        self.first_error: str | None = None
        self.marks: dict[str, dict[str, Any]] = {}

    def mark(self) -> dict[str, Any]:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "ns": time.time_ns(),
            "own": r.ru_utime + r.ru_stime,
            "servers": _procs_cpu_seconds(self.args.server_pid or []),
            "client": _proc_cpu_seconds(self.args.client_pid) if self.args.client_pid else None,
            "machine": _machine_busy_seconds(),
            "events": self.win_events,
        }

    async def worker(self) -> None:
        batch = self.args.batch
        publish_many = self.bus.publish_many
        while self.running:
            events = [(TYPE, {"error": str(time.time_ns())}) for _ in range(batch)]
            t0 = time.perf_counter_ns()
            try:
                stored = await publish_many(CHANNEL, events)
            except Exception as e:
                self.errors += 1
                if self.first_error is None:
                    self.first_error = f"{type(e).__name__}: {e}"
                await asyncio.sleep(0.01)
                continue
            self.events += len(stored)
            if self.first_id is None or stored[0].id < self.first_id:
                self.first_id = stored[0].id
            if self.last_id is None or stored[-1].id > self.last_id:
                self.last_id = stored[-1].id
            if self.measuring:
                self.win_events += len(stored)
                self.calls.append(time.perf_counter_ns() - t0)

    async def run(self) -> dict[str, Any]:
        a = self.args
        tasks = [asyncio.create_task(self.worker()) for _ in range(a.inflight)]
        await asyncio.sleep(a.warmup)
        self.marks["start"] = self.mark()
        self.measuring = True
        await asyncio.sleep(a.seconds)
        self.measuring = False
        self.marks["end"] = self.mark()
        await asyncio.sleep(a.tail)
        self.running = False
        await asyncio.gather(*tasks)
        return self.report()

    def report(self) -> dict[str, Any]:
        a, b = self.marks["start"], self.marks["end"]
        wall = (b["ns"] - a["ns"]) / 1e9

        def cores(key: str) -> float | None:
            if a[key] is None or b[key] is None or wall <= 0:
                return None
            return (b[key] - a[key]) / wall

        own, servers, client = cores("own"), cores("servers"), cores("client")
        machine = other = None
        if a["machine"] is not None and b["machine"] is not None and wall > 0:
            machine = (b["machine"][0] - a["machine"][0]) / wall
            other = machine - own - (servers or 0.0) - (client or 0.0)  # type: ignore[operator]
        return {
            "phase": "result",
            "bus": type(self.bus).__name__,
            "seconds": wall,
            "events": b["events"] - a["events"],
            "events_per_s": (b["events"] - a["events"]) / wall if wall > 0 else 0.0,
            "batch": self.args.batch,
            "inflight": self.args.inflight,
            "call_ms": percentiles(self.calls, (0.5, 0.99)),
            "calls": len(self.calls),
            "published": self.events,
            "first_id": self.first_id,
            "last_id": self.last_id,
            "errors": self.errors,
            "first_error": self.first_error,
            "producer_cpu_cores": own,
            "server_cpu_cores": servers,
            "client_cpu_cores": client,
            "machine_busy_cores": machine,
            "other_load_cores": other,
        }


async def main_async(args: argparse.Namespace) -> None:
    bus = open_bus(args)
    await bus.start()
    try:
        gc.collect()
        gc.freeze()
        emit({"phase": "ready", "bus": type(bus).__name__, "head_id": bus.head_id})
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if not line.strip():
            return
        emit(await Producer(bus, args).run())
    finally:
        await bus.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.bus_producer", description=__doc__.split("\n\n")[0])
    p.add_argument("--bus", choices=("redis", "sqlite"), required=True)
    p.add_argument("--url", help="redis://host:port/db (--bus redis)")
    p.add_argument("--prefix", default="signaldesk", help="the cluster's key prefix (--bus redis)")
    p.add_argument("--data-dir", type=Path, help="where the SQLite log goes (--bus sqlite)")
    p.add_argument("--batch", type=int, default=100, help="events per publish_many call")
    p.add_argument("--inflight", type=int, default=8, help="publish_many calls in flight at once")
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--tail", type=float, default=0.5, help="seconds published after the window")
    p.add_argument("--server-pid", type=int, action="append", help="processes of the system under test (summed)")
    p.add_argument("--client-pid", type=int, help="the load client, counted apart from other load")
    args = p.parse_args(argv)
    if args.bus == "redis" and not args.url:
        p.error("--bus redis needs --url")
    if args.bus == "sqlite" and not args.data_dir:
        p.error("--bus sqlite needs --data-dir")
    return args


def main(argv: list[str] | None = None) -> None:
    asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    main()
