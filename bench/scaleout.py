"""`make bench`, scale-out: the Redis Streams bus with 2 API processes beside one SQLite process.

One run measures both backends, each in two scenarios:

1. publish throughput: a producer process (bench.bus_producer) publishes through its own bus
   as fast as the bus takes the events: `--inflight` tasks each looping on
   `publish_many("prediction", [--batch events])`, validated, durable when the call returns.
   - Redis: the producer's RedisEventBus is one more member of a cluster of 2 API processes
     (`signaldesk` app, same Redis and prefix); each API process has one WebSocket subscriber
     on the channel (bench.load_client), so the figure is taken with both readers fanning out
     every event, and the subscribers show what was delivered and that nothing was lost.
   - SQLite: the producer's LocalEventBus (`synchronous=full`); no other process can read it.
   Reported: events/s acknowledged to the producer, the publish_many call latency, what the
   subscribers received per second, and how long they took to catch up after the producer
   stopped.
2. latency: `--rate` events/s in total, spread round-robin over `--channels` channels (the
   bus's channels: prediction, hft, automation, training), published by the bench publisher
   inside the API processes (Redis: each of the 2 publishes rate/2, so events reach every
   subscriber through Redis whichever process published them; SQLite: the one process).
   `--subscribers` WebSocket subscribers in one load client process, split evenly over every
   (process, channel): each subscriber receives rate / channels events/s. Reported: p50/p99
   publish-to-receive latency (kernel arrival time on the subscriber's socket), as in
   `python -m bench`. Then the same at a reference level, `--reference-subscribers` (100):
   the same events/s through the bus, a tenth of the fan-out, which tells the bus's part of
   the latency from the fan-out's.

Redis: by default the bench starts its own redis-server (a fresh one per scenario, free
loopback port, `appendonly yes`, `appendfsync always`: an event is on disk before `publish`
returns and before any reader gets it, as SQLite's `synchronous=full` commits are);
`--redis-fsync everysec` trades that for speed, `--redis-url` uses a running Redis instead
(keys under a fresh prefix, deleted afterwards).

CPU: nothing is pinned by default: 2 API processes are there to use more than one core, and
pinned to one (`--pin`: API processes and Redis on CPU 0, the load client and the producer
on CPU 1, as `python -m bench` pins server and client) they only compete for it. The load
client shares the machine with them, so every table shows the load client's CPU, the system
under test's (API processes + Redis), and "other load": the rest of the machine (other
processes: on a shared machine, a run with other load above ~0.25 cores is disturbed).

Results: a table, and bench/results/scaleout.json.

    python -m bench.scaleout                                    # ~2 minutes
    python -m bench.scaleout --quick                            # smoke run, ~40 s
    python -m bench.scaleout --only redis --scenario latency
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from rich.table import Table

from bench.__main__ import (
    CLIENT_SATURATED,
    DISTURBED,
    BenchError,
    Control,
    Proc,
    check_load_options,
    console,
    fmt_closes,
    fmt_cores,
    fmt_int,
    fmt_ms,
    free_port,
    get,
    meta,
    print_verdicts,
    run_bench,
    wait_http,
)
from bench.signaldesk_server import LANES

RESULTS = Path(__file__).resolve().parent / "results"
BACKENDS = ("redis", "sqlite")
SCENARIOS = ("throughput", "latency")
TITLES = {"redis": "Redis, 2 API processes", "sqlite": "SQLite, 1 process"}

TARGET_EVENTS = 50_000.0
TARGET_P99_MS = 20.0
TARGET_RATE = 1000.0
TARGET_SUBSCRIBERS = 1000
NO_FLOW_CONTROL = 1 << 50  # the publisher's window: the latency scenario runs open loop


@dataclass
class Server:
    proc: Proc
    ctl: Control
    port: int
    info: dict[str, Any]


@dataclass
class Redis:
    url: str
    pid: int | None
    config: dict[str, str] = field(default_factory=dict)


# --- the system under test ---------------------------------------------------------------


def pinned(opts: argparse.Namespace, cpu: int) -> set[int] | None:
    return {cpu} if opts.pin else None


def ping(url: str, timeout: float, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client = redis.Redis.from_url(url, socket_timeout=2)
            try:
                client.ping()
                return
            finally:
                client.close()
        except redis.RedisError as e:
            if proc is not None and proc.popen.poll() is not None:
                raise BenchError(f"redis-server exited ({proc.popen.returncode}){proc.tail()}") from e
            if time.monotonic() > deadline:
                raise BenchError(f"Redis at {url} does not answer: {e}") from e
            time.sleep(0.05)


def describe(url: str) -> tuple[int | None, dict[str, str]]:
    """The Redis server's pid (when it runs on this machine) and its persistence settings."""
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        info = client.info("server")
        config = {k: str(v) for k, v in client.config_get("append*").items() if k in ("appendonly", "appendfsync")}
        config["version"] = str(info.get("redis_version"))
        host = url.split("//", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].split("@")[-1]
        local = host in ("127.0.0.1", "localhost", "::1", "[::1]")
        return (int(info["process_id"]) if local else None), config
    finally:
        client.close()


def drop_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=30)
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(f"{prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.unlink(*batch)
                batch.clear()
        if batch:
            client.unlink(*batch)
    finally:
        client.close()


@contextlib.contextmanager
def redis_server(opts: argparse.Namespace, work: Path, name: str) -> Iterator[Redis]:
    """A fresh private redis-server for one scenario, or the --redis-url one."""
    if opts.redis_url:
        ping(opts.redis_url, 5)
        pid, config = describe(opts.redis_url)
        yield Redis(opts.redis_url, pid, config)
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchError("redis-server is not installed: install it (apt-get install redis-server) or pass --redis-url")
    port = free_port()
    data = work / f"redis-{name}"
    data.mkdir()
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--dir",
        str(data),
        "--appendonly",
        "yes",
        "--appendfsync",
        opts.redis_fsync,
        "--daemonize",
        "no",
        "--logfile",
        "",
    ]
    proc = Proc(f"redis-{name}", argv, work, cpus=pinned(opts, 0))
    try:
        url = f"redis://127.0.0.1:{port}/0"
        ping(url, 15, proc)
        _, config = describe(url)
        yield Redis(url, proc.pid, config)
    finally:
        proc.stop()


@contextlib.contextmanager
def api_servers(
    opts: argparse.Namespace,
    work: Path,
    name: str,
    count: int,
    *,
    bus_url: str | None = None,
    prefix: str | None = None,
    lanes: int = 1,
) -> Iterator[list[Server]]:
    """`count` signaldesk API processes (bench.signaldesk_server), on one Redis bus when given."""
    procs: list[tuple[Proc, int, int]] = []
    servers: list[Server] = []
    try:
        for i in range(count):
            port, control_port = free_port(), free_port()
            argv = [
                sys.executable,
                "-m",
                "bench.signaldesk_server",
                "--port",
                str(port),
                "--control-port",
                str(control_port),
                "--data-dir",
                str(work / f"{name}-{i}-data"),
                "--concurrency",
                str(opts.concurrency),
                "--lanes",
                str(lanes),
            ]
            if bus_url is not None:
                argv += ["--bus-url", bus_url, "--bus-prefix", prefix or "signaldesk"]
            procs.append((Proc(f"{name}-api-{i}", argv, work, cpus=pinned(opts, 0)), port, control_port))
        for proc, port, control_port in procs:
            ctl = Control(control_port, timeout=60, proc=proc)
            servers.append(Server(proc, ctl, port, ctl.call(cmd="hello")["info"]))
            wait_http(port, 30, proc)
        yield servers
    finally:
        for server in servers:
            server.ctl.close()
        for proc, _, _ in procs:
            proc.stop()


def load_client(
    opts: argparse.Namespace,
    work: Path,
    name: str,
    endpoints: list[str],
    subscribers: int,
    pids: list[int],
    *,
    latency: bool,
) -> Proc:
    argv = [
        sys.executable,
        "-m",
        "bench.load_client",
        *(arg for endpoint in endpoints for arg in ("--endpoint", endpoint)),
        "--subscribers",
        str(subscribers),
        "--warmup",
        str(opts.warmup),
        "--seconds",
        str(opts.seconds),
        "--sample-every",
        str(1 if latency else opts.sample_every),
        "--drain-timeout",
        str(opts.drain_timeout),
        "--rcvlowat",
        str(0 if latency else opts.rcvlowat),
        "--stamp-every",
        str(opts.stamp_every if latency else 0),
        *(arg for pid in pids for arg in ("--server-pid", str(pid))),
    ]
    return Proc(name, argv, work, stdio=True, cpus=pinned(opts, 1))


# --- scenarios ------------------------------------------------------------------------------


def throughput(backend: str, opts: argparse.Namespace, work: Path) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        producer_args = ["--bus", backend]
        pids: list[int] = []
        client: Proc | None = None
        cluster: dict[str, Any] = {}
        if backend == "redis":
            rds = stack.enter_context(redis_server(opts, work, "throughput"))
            prefix = f"bench-{secrets.token_hex(4)}"
            stack.callback(drop_prefix, rds.url, prefix)
            servers = stack.enter_context(api_servers(opts, work, "redis-tp", 2, bus_url=rds.url, prefix=prefix))
            pids = [s.proc.pid for s in servers] + ([rds.pid] if rds.pid else [])
            cluster = {"redis": rds.config, "api_processes": len(servers), "prefix": prefix}
            endpoints = [f"{s.port}/api/ws/prediction" for s in servers]
            client = load_client(opts, work, "redis-tp-client", endpoints, len(servers), pids, latency=False)
            stack.callback(client.stop, 5)
            client.expect("ready", timeout=60)
            producer_args += ["--url", rds.url, "--prefix", prefix]
        else:
            data = work / "sqlite-producer"
            data.mkdir()
            producer_args += ["--data-dir", str(data)]
        argv = [
            sys.executable,
            "-m",
            "bench.bus_producer",
            *producer_args,
            "--batch",
            str(opts.batch),
            "--inflight",
            str(opts.inflight),
            "--warmup",
            str(opts.warmup),
            "--seconds",
            str(opts.seconds),
            *(arg for pid in pids for arg in ("--server-pid", str(pid))),
            *(["--client-pid", str(client.pid)] if client else []),
        ]
        producer = Proc(f"{backend}-producer", argv, work, stdio=True, cpus=pinned(opts, 1))
        stack.callback(producer.stop, 10)
        producer.expect("ready", timeout=60)
        producer.send({"go": True})
        result = producer.expect("result", timeout=opts.warmup + opts.seconds + 120)
        out: dict[str, Any] = {"producer": result, **cluster}
        if client is not None:
            window = client.expect("window", timeout=opts.warmup + opts.seconds + 60)
            client.send({"first_id": result["first_id"], "last_id": result["last_id"]})
            out["window"] = window
            out["integrity"] = client.expect("final", timeout=opts.drain_timeout + 60)
        return out


def latency(backend: str, opts: argparse.Namespace, work: Path, subscribers: int, name: str) -> dict[str, Any]:
    channels = list(LANES)[: opts.channels]
    with contextlib.ExitStack() as stack:
        cluster: dict[str, Any] = {}
        if backend == "redis":
            rds = stack.enter_context(redis_server(opts, work, name))
            prefix = f"bench-{secrets.token_hex(4)}"
            stack.callback(drop_prefix, rds.url, prefix)
            servers = stack.enter_context(
                api_servers(opts, work, f"redis-{name}", 2, bus_url=rds.url, prefix=prefix, lanes=len(channels))
            )
            pids = [s.proc.pid for s in servers] + ([rds.pid] if rds.pid else [])
            cluster = {"redis": rds.config, "api_processes": len(servers), "prefix": prefix}
        else:
            servers = stack.enter_context(api_servers(opts, work, f"sqlite-{name}", 1, lanes=len(channels)))
            pids = [s.proc.pid for s in servers]
        # connection i -> endpoint i % E: every (process, channel) gets the same share
        endpoints = [f"{s.port}/api/ws/{channel}" for channel in channels for s in servers]
        client = load_client(opts, work, f"{backend}-{name}-client", endpoints, subscribers, pids, latency=True)
        stack.callback(client.stop, 5)
        ready = client.expect("ready", timeout=60 + subscribers / 50)
        for server in servers:  # each process publishes its share; they interleave in the log
            server.ctl.call(cmd="start", mode="rate", rate=opts.rate / len(servers), window=NO_FLOW_CONTROL)
        window = client.expect("window", timeout=30 + opts.warmup + opts.seconds + 60)
        stops = [server.ctl.call(cmd="stop", timeout=60) for server in servers]
        paths: dict[str, dict[str, Any]] = {}
        for i, channel in enumerate(channels):
            lanes = [stop["lanes"][i] for stop in stops if stop["lanes"][i]["published"]]
            paths[f"/api/ws/{channel}"] = {
                "published": sum(lane["published"] for lane in lanes),
                "first_id": min((lane["first_id"] for lane in lanes), default=None),
                "last_id": max((lane["last_id"] for lane in lanes), default=None),
            }
        ids = [stop[k] for stop in stops for k in ("first_id", "last_id") if stop[k] is not None]
        client.send({"first_id": min(ids, default=None), "last_id": max(ids, default=None), "paths": paths})
        final = client.expect("final", timeout=opts.drain_timeout + 60)
        return {
            "connect_seconds": ready["connect_seconds"],
            "window": window,
            "publishers": stops,
            "paths": paths,
            "integrity": final,
            "channels": channels,
            "rate": opts.rate,
            "subscribers": subscribers,
            "info": servers[0].info,
            **cluster,
        }


def run(opts: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"meta": meta(opts)}
    with tempfile.TemporaryDirectory(prefix="signaldesk-scaleout-") as tmp:
        work = Path(tmp)
        for backend in opts.backends:
            results[backend] = {}
            for name in opts.scenarios:
                console.print(f"[bold]{TITLES[backend]}[/bold]: {name} ...")
                if name == "throughput":
                    res = results[backend][name] = throughput(backend, opts, work)
                    p = res["producer"]
                    line = f"    {p['events_per_s']:,.0f} events/s acknowledged"
                    if res.get("window"):
                        line += f", {res['window']['events_per_s']:,.0f} events/s per subscriber"
                    console.print(
                        line + f", producer CPU {fmt_cores(p['producer_cpu_cores'])}, "
                        f"other load {fmt_cores(p['other_load_cores'])}"
                    )
                    time.sleep(0.5)
                    continue
                levels = [("latency", opts.subscribers)]
                if opts.reference_subscribers:
                    levels.append(("reference", opts.reference_subscribers))
                for level, subscribers in levels:
                    if level == "reference":
                        console.print(
                            f"[bold]{TITLES[backend]}[/bold]: latency, reference level ({subscribers} subscribers) ..."
                        )
                    res = results[backend][level] = latency(backend, opts, work, subscribers, level)
                    w = res["window"]
                    a = w["arrival_latency_ms"]
                    console.print(
                        f"    {w['msgs_per_s']:,.0f} msg/s, arrival p50 {fmt_ms(a['p50'])} p99 {fmt_ms(a['p99'])} ms, "
                        f"client CPU {fmt_cores(w['client_cpu']['cores'])}, server CPU "
                        f"{fmt_cores(w['server_cpu_cores'])}, other load {fmt_cores(w['other_load_cores'])}"
                    )
                    time.sleep(0.5)
    results["targets"] = targets(results, opts)
    return results


# --- verdicts and output -------------------------------------------------------------------


def targets(results: dict, opts: argparse.Namespace) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(name: str, measured: Any, ok: bool, at_conditions: bool, shown: str) -> None:
        out.append(
            {"target": name, "measured": measured, "pass": ok, "at_target_conditions": at_conditions, "shown": shown}
        )

    fsync = get(results, "redis", "throughput", "redis", "appendfsync")
    tp = get(results, "redis", "throughput", "producer", "events_per_s")
    if tp is not None:
        add(
            f"Redis publish throughput >= {TARGET_EVENTS:,.0f} events/s (appendfsync {fsync}, 2 API processes reading)",
            tp,
            tp >= TARGET_EVENTS,
            fsync == "always",
            f"{tp:,.0f} events/s",
        )
    p99 = get(results, "redis", "latency", "window", "arrival_latency_ms", "p99")
    if p99 is not None:
        at = opts.subscribers == TARGET_SUBSCRIBERS and opts.rate == TARGET_RATE
        read = get(results, "redis", "latency", "window", "latency_ms", "p99")
        add(
            f"Redis p99 publish-to-receive <= {TARGET_P99_MS:g} ms at {TARGET_RATE:,.0f} events/s, "
            f"{TARGET_SUBSCRIBERS:,} subscribers on 2 processes",
            p99,
            p99 <= TARGET_P99_MS,
            at,
            f"arrival {p99:.2f} ms" + (f" (read {read:.2f} ms)" if read else ""),
        )
        delivered = get(results, "redis", "latency", "window", "msgs_per_s") or 0.0
        expected = opts.rate * opts.subscribers / opts.channels
        add(
            f"Redis latency scenario sustains {opts.rate:,.0f} events/s (>= 95% delivered)",
            delivered,
            delivered >= 0.95 * expected,
            True,
            f"{delivered:,.0f} of {expected:,.0f} msg/s",
        )
    if "redis" in results:
        runs = ("throughput", "latency", "reference")
        lost = sum(get(results, "redis", s, "integrity", "missing") or 0 for s in runs)
        dup = sum(get(results, "redis", s, "integrity", "duplicates") or 0 for s in runs)
        extra = sum(get(results, "redis", s, "integrity", "unexpected") or 0 for s in runs)
        errors = get(results, "redis", "throughput", "producer", "errors") or 0
        errors += sum(p.get("errors") or 0 for s in runs for p in get(results, "redis", s, "publishers") or [])
        add(
            "Redis: no missing, duplicate or misrouted event, no failed publish",
            {"missing": lost, "duplicates": dup, "unexpected": extra, "publish_errors": errors},
            lost == dup == extra == errors == 0,
            True,
            f"{lost} missing, {dup} duplicate, {extra} misrouted, {errors} failed",
        )
    return out


def render(results: dict, opts: argparse.Namespace) -> None:
    backends = [b for b in BACKENDS if b in results]

    def table(title: str) -> Table:
        t = Table(title=title, title_justify="left")
        t.add_column("")
        for b in backends:
            t.add_column(TITLES[b], justify="right")
        return t

    def row(t: Table, label: str, scenario: str, path: tuple[str, ...], fmt: Any) -> None:
        t.add_row(label, *(fmt(get(results, b, scenario, *path)) for b in backends))

    if "throughput" in opts.scenarios:
        t = table(
            f"Publish throughput: publish_many of {opts.batch} events, {opts.inflight} calls in flight, "
            f"durable on return"
        )
        row(t, "events/s acknowledged", "throughput", ("producer", "events_per_s"), fmt_int)
        row(t, "publish_many call p50 (ms)", "throughput", ("producer", "call_ms", "p50"), fmt_ms)
        row(t, "publish_many call p99 (ms)", "throughput", ("producer", "call_ms", "p99"), fmt_ms)
        row(t, "events/s received per subscriber", "throughput", ("window", "events_per_s"), fmt_int)
        row(t, "subscribers (1 per API process)", "throughput", ("window", "alive"), fmt_int)
        row(
            t,
            "catch-up after the producer stopped (s)",
            "throughput",
            ("integrity", "drain_seconds"),
            lambda v: "-" if v is None else f"{v:.2f}",
        )
        row(t, "producer CPU (cores)", "throughput", ("producer", "producer_cpu_cores"), fmt_cores)
        row(t, "API processes + Redis CPU (cores)", "throughput", ("producer", "server_cpu_cores"), fmt_cores)
        row(t, "load client CPU (cores)", "throughput", ("producer", "client_cpu_cores"), fmt_cores)
        row(t, "other load on the machine (cores)", "throughput", ("producer", "other_load_cores"), fmt_cores)
        row(t, "missing events", "throughput", ("integrity", "missing"), fmt_int)
        row(t, "duplicate events", "throughput", ("integrity", "duplicates"), fmt_int)
        console.print(t)
    levels = [("latency", opts.subscribers)]
    if opts.reference_subscribers:
        levels.append(("reference", opts.reference_subscribers))
    for level, subscribers in levels if "latency" in opts.scenarios else []:
        per = opts.rate / opts.channels
        what = "Latency" if level == "latency" else "Latency, reference level (fewer subscribers, same bus load)"
        t = table(
            f"{what}: {opts.rate:,.0f} events/s over {opts.channels} channel(s), {subscribers:,} subscribers "
            f"({per:,.0f} events/s each)"
        )
        row(t, "delivered msg/s", level, ("window", "msgs_per_s"), fmt_int)
        row(t, "events/s per subscriber", level, ("window", "events_per_s"), fmt_int)
        for q in ("p50", "p90", "p99", "max"):
            row(t, f"arrival latency {q} (ms)", level, ("window", "arrival_latency_ms", q), fmt_ms)
        row(t, "arrival latency samples", level, ("window", "arrival_samples"), fmt_int)
        for label, key in (("1st subscriber", "first_arrival_ms"), ("1st to last", "fanout_spread_ms")):
            for q in ("p50", "p99"):
                row(t, f"event: {label} {q} (ms)", level, ("window", "arrival_per_event", key, q), fmt_ms)
        for q in ("p50", "p99"):
            row(t, f"read latency {q} (ms)", level, ("window", "latency_ms", q), fmt_ms)
        row(t, "client CPU (cores)", level, ("window", "client_cpu", "cores"), fmt_cores)
        row(t, "API processes + Redis CPU (cores)", level, ("window", "server_cpu_cores"), fmt_cores)
        row(t, "other load on the machine (cores)", level, ("window", "other_load_cores"), fmt_cores)
        row(t, "missing events", level, ("integrity", "missing"), fmt_int)
        row(t, "duplicate events", level, ("integrity", "duplicates"), fmt_int)
        row(t, "subscribers closed by server", level, ("integrity", "closed_by_server"), fmt_closes)
        console.print(t)

    print_verdicts("Targets (scale-out issue)", results["targets"], "not at the target's conditions")

    notes = []
    for b in backends:
        for name in ("throughput", "latency", "reference"):
            res = get(results, b, name) or {}
            w = res.get("window") or {}
            cores = get(w, "client_cpu", "cores")
            if name != "throughput" and cores is not None and cores >= CLIENT_SATURATED:
                notes.append(f"{TITLES[b]} {name}: the load client used {cores:.2f} cores: it may be the bottleneck")
            figures = res.get("producer") or {} if name == "throughput" else w
            other = figures.get("other_load_cores")
            if other is not None and other >= DISTURBED:
                notes.append(
                    f"{TITLES[b]} {name}: other processes used {other:.2f} cores during the window: disturbed run"
                )
            alive, n = w.get("alive"), w.get("subscribers")
            if alive is not None and alive < n:
                notes.append(f"{TITLES[b]} {name}: only {alive} of {n} subscribers stayed connected")
    notes.append(
        "API processes and Redis pinned to CPU 0, load client and producer to CPU 1 (taskset)"
        if opts.pin
        else "no CPU pinning: the API processes, Redis, the producer and the load client share the "
        f"machine's {os.cpu_count()} CPUs"
    )
    config = get(results, "redis", "throughput", "redis") or get(results, "redis", "latency", "redis")
    if config:
        where = opts.redis_url or "a private redis-server per scenario"
        notes.append(
            f"Redis {config.get('version')}: {where}, appendonly {config.get('appendonly')}, "
            f"appendfsync {config.get('appendfsync')}; SQLite: synchronous=full"
        )
    notes.append(
        "latency: arrival = kernel receive timestamp on the subscriber's socket (SO_TIMESTAMPNS, "
        f"1 read in {opts.stamp_every}); targets are judged on it"
    )
    for note in notes:
        console.print(f"  - {note}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.scaleout",
        description="Scale-out: the Redis Streams bus with 2 API processes beside one SQLite process "
        "(publish throughput, then publish-to-receive latency).",
    )
    p.add_argument(
        "--subscribers", type=int, help=f"latency: WebSocket subscribers (default {TARGET_SUBSCRIBERS}; --quick: 40)"
    )
    p.add_argument("--rate", type=float, help=f"latency: events/s in total (default {TARGET_RATE:g}; --quick: 200)")
    p.add_argument(
        "--reference-subscribers",
        type=int,
        help="latency: also run a reference level with this many subscribers, same events/s "
        "(default 100; --quick and 0: none)",
    )
    p.add_argument(
        "--channels",
        type=int,
        default=len(LANES),
        choices=range(1, len(LANES) + 1),
        help=f"latency: channels the events and the subscribers are spread over (default {len(LANES)}: "
        f"{', '.join(LANES)})",
    )
    p.add_argument("--seconds", type=float, help="measurement window per scenario (default 10; --quick: 2)")
    p.add_argument("--warmup", type=float, help="seconds before measuring (default 2; --quick: 0.5)")
    p.add_argument("--batch", type=int, default=100, help="throughput: events per publish_many call")
    p.add_argument(
        "--inflight",
        type=int,
        default=32,
        help="throughput: publish_many calls in flight (32 x 100 events: appends near the bus's 4096 max)",
    )
    p.add_argument("--only", choices=BACKENDS, help="one backend only")
    p.add_argument("--scenario", choices=SCENARIOS, help="one scenario only")
    p.add_argument("--quick", action="store_true", help="smoke run: short windows, few subscribers")
    p.add_argument("--redis-url", help="use this Redis instead of starting one (keys under a fresh prefix)")
    p.add_argument(
        "--redis-fsync",
        choices=("always", "everysec", "no"),
        default="always",
        help="appendfsync of the private redis-server (default always: durable before publish returns)",
    )
    p.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="pin API processes and Redis to CPU 0, the load client and the producer to CPU 1 (default: off, the "
        "point of 2 API processes is to use more than one core)",
    )
    p.add_argument("--concurrency", type=int, default=256, help="latency: publishes in flight per API process")
    p.add_argument("--rcvlowat", type=int, default=4096, help="throughput: SO_RCVLOWAT of the subscribers' sockets")
    p.add_argument("--sample-every", type=int, default=16, help="throughput: read latency on 1 frame in k")
    p.add_argument("--stamp-every", type=int, default=4, help="latency: kernel arrival timestamp on every k-th read")
    p.add_argument("--drain-timeout", type=float, help="seconds to wait for the last events (default 20)")
    p.add_argument("--json", type=Path, default=RESULTS / "scaleout.json", help="where to write the results")
    opts = p.parse_args(argv)
    if opts.pin and ((os.cpu_count() or 1) < 2 or shutil.which("taskset") is None):
        p.error("--pin needs 2 CPUs and taskset")
    quick = opts.quick
    opts.backends = [opts.only] if opts.only else list(BACKENDS)
    opts.scenarios = [opts.scenario] if opts.scenario else list(SCENARIOS)
    opts.subscribers = opts.subscribers or (40 if quick else TARGET_SUBSCRIBERS)
    if opts.reference_subscribers is None:
        opts.reference_subscribers = 0 if quick else 100
    opts.rate = opts.rate or (200.0 if quick else TARGET_RATE)
    opts.seconds = opts.seconds or (2.0 if quick else 10.0)
    opts.warmup = opts.warmup if opts.warmup is not None else (0.5 if quick else 2.0)
    opts.drain_timeout = opts.drain_timeout or (5.0 if quick else 20.0)
    check_load_options(p, opts)
    if opts.batch < 1 or opts.inflight < 1:
        p.error("--batch and --inflight must be at least 1")
    return opts


def main(argv: list[str] | None = None) -> int:
    return run_bench(parse_args(argv), run, render)


if __name__ == "__main__":
    sys.exit(main())
