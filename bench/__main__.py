"""`make bench`: WebSocket fan-out, signaldesk against a naive FastAPI baseline, same run.

For each server (signaldesk, then the naive baseline) the orchestrator starts the server in a
subprocess (fresh temporary data directory, free loopback ports), then runs two scenarios,
each with a fresh load client process (bench.load_client) holding N subscribers:

1. throughput: the publisher goes as fast as it sustainably can (flow-controlled: never more
   than --window events ahead of the slowest subscriber) for --warmup + --seconds; reported:
   delivered messages/s over the window, latency sampled on 1 frame in 16;
2. latency: --rate events/s on a fixed schedule; reported: p50/p99 publish-to-receive latency
   over every frame of the window, and the delivered rate.

Both report the client's CPU (cores), the server's, and the rest of the machine's, then the
missing/duplicate events per connection. Results go to a table and to
bench/results/latest.json. Everything binds 127.0.0.1, and every process is stopped on exit.

    python -m bench [--subscribers 1000] [--seconds 10] [--rate 100] [--only signaldesk|naive]
    python -m bench --quick --subscribers 20 --seconds 2     # smoke run, a few seconds
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SERVERS = ("signaldesk", "naive")

TARGET_MSGS = 200_000
TARGET_RATIO = 3.0
TARGET_P99_MS = 15.0
TARGET_SUBSCRIBERS = 1000
TARGET_RATE = 100.0
CLIENT_SATURATED = 0.9  # cores: the client is (nearly) the bottleneck
DISTURBED = 0.25  # cores used by other processes during a window

console = Console()


class BenchError(RuntimeError):
    pass


# --- processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child process: stderr to a log file, stdout as a queue of lines (when piped).

    No SIGNALDESK_* variable of this environment reaches it; `env` adds variables of its own.
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_dir: Path,
        *,
        stdio: bool = False,
        cpus: set[int] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALDESK_")} | (env or {})
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["PYTHONUNBUFFERED"] = "1"
        if cpus:
            argv = ["taskset", "-c", ",".join(map(str, sorted(cpus))), *argv]
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE if stdio else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdio else self._log,
            stderr=self._log,
        )
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        if stdio:
            threading.Thread(target=self._pump, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, phase: str, timeout: float) -> dict[str, Any]:
        """The next JSON line from the child, which must be `phase`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"{self.name}: no {phase!r} within {timeout:.0f} s{self.tail()}")
            try:
                line = self.lines.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if line is None:
                self.popen.wait(5)
                raise BenchError(f"{self.name} exited ({self.popen.returncode}) before {phase!r}{self.tail()}")
            try:
                msg = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if msg.get("phase") == phase:
                return msg

    def send(self, obj: dict[str, Any]) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(orjson.dumps(obj) + b"\n")
        self.popen.stdin.flush()

    def tail(self, lines: int = 15) -> str:
        self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            return ""
        return ("\n  " + "\n  ".join(text)) if text else ""

    def stop(self, grace: float = 10.0) -> None:
        """SIGINT (graceful for uvicorn), then SIGKILL after `grace` seconds."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._log.close()


class Control:
    """JSON-lines client of the server's publisher control port (bench.publisher)."""

    def __init__(self, port: int, timeout: float, proc: Proc) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if proc.popen.poll() is not None:
                raise BenchError(f"{proc.name} exited ({proc.popen.returncode}){proc.tail()}")
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    raise BenchError(f"{proc.name}: no control port after {timeout:.0f} s: {e}{proc.tail()}") from e
                time.sleep(0.1)
        self.file = self.sock.makefile("rwb")

    def call(self, timeout: float = 60.0, **msg: Any) -> dict[str, Any]:
        self.sock.settimeout(timeout)
        self.file.write(orjson.dumps(msg) + b"\n")
        self.file.flush()
        line = self.file.readline()
        if not line:
            raise BenchError(f"publisher closed the control connection on {msg}")
        reply = orjson.loads(line)
        if not reply.get("ok"):
            raise BenchError(f"publisher refused {msg}: {reply.get('error')}")
        return reply

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
            self.sock.close()


# --- the run ------------------------------------------------------------------------------


@contextlib.contextmanager
def server(kind: str, opts: argparse.Namespace, work: Path) -> Iterator[tuple[Proc, Control, int, dict[str, Any]]]:
    port, control_port = free_port(), free_port()
    argv = [sys.executable, "-m", f"bench.{kind}_server", "--port", str(port), "--control-port", str(control_port)]
    if kind == "signaldesk":
        data_dir = work / "signaldesk-data"
        argv += ["--data-dir", str(data_dir), "--concurrency", str(opts.concurrency)]
    proc = Proc(f"{kind}-server", argv, work, cpus={0} if opts.pin else None)
    ctl: Control | None = None
    try:
        ctl = Control(control_port, timeout=60, proc=proc)
        hello = ctl.call(cmd="hello")
        wait_http(port, 30, proc)
        yield proc, ctl, port, hello["info"]
    finally:
        if ctl is not None:
            ctl.close()
        proc.stop()


def wait_http(port: int, timeout: float, proc: Proc) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise BenchError(f"{proc.name} exited ({proc.popen.returncode}){proc.tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise BenchError(f"{proc.name} is not listening on {port}{proc.tail()}")


def scenario(kind: str, name: str, opts: argparse.Namespace, srv: tuple[Proc, Control, int, dict], work: Path) -> dict:
    proc, ctl, port, _ = srv
    throughput = name == "throughput"
    sample_every = opts.sample_every if throughput else 1
    argv = [
        sys.executable,
        "-m",
        "bench.load_client",
        "--port",
        str(port),
        "--subscribers",
        str(opts.subscribers),
        "--warmup",
        str(opts.warmup),
        "--seconds",
        str(opts.seconds),
        "--sample-every",
        str(sample_every),
        "--control-port",
        str(control_port_of(ctl)),
        "--server-pid",
        str(proc.pid),
        "--drain-timeout",
        str(opts.drain_timeout),
        "--rcvlowat",
        str(opts.rcvlowat if throughput else 0),
        "--stamp-every",
        str(0 if throughput else opts.stamp_every),
    ]
    client = Proc(f"{kind}-{name}-client", argv, work, stdio=True, cpus={1} if opts.pin else None)
    try:
        ready = client.expect("ready", timeout=60 + opts.subscribers / 50)
        if throughput:
            ctl.call(cmd="start", mode="throughput", window=opts.window)
        else:
            ctl.call(cmd="start", mode="rate", rate=opts.rate, window=opts.window)
        window = client.expect("window", timeout=30 + opts.warmup + opts.seconds + 60)
        published = ctl.call(cmd="stop", timeout=60)
        client.send({"first_id": published["first_id"], "last_id": published["last_id"]})
        final = client.expect("final", timeout=opts.drain_timeout + 60)
        client.popen.wait(15)
    finally:
        client.stop(grace=5)
    return {
        "connect_seconds": ready["connect_seconds"],
        "window": window,
        "publisher": published,
        "integrity": final,
        "sample_every": sample_every,
        "rate": None if throughput else opts.rate,
        "window_events": opts.window,
    }


def control_port_of(ctl: Control) -> int:
    return ctl.sock.getpeername()[1]


def run(opts: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"meta": meta(opts)}
    kinds = [opts.only] if opts.only else list(SERVERS)
    with tempfile.TemporaryDirectory(prefix="signaldesk-bench-") as tmp:
        work = Path(tmp)
        for kind in kinds:
            console.print(f"[bold]{kind}[/bold]: starting the server")
            with server(kind, opts, work) as srv:
                results[kind] = {"info": srv[3]}
                for name in opts.scenarios:
                    what = (
                        f"{opts.subscribers} subscribers, publisher as fast as it sustainably goes"
                        if name == "throughput"
                        else f"{opts.rate:g} events/s x {opts.subscribers} subscribers"
                    )
                    console.print(f"  {name}: {what}, {opts.warmup:g} s warm-up + {opts.seconds:g} s ...")
                    results[kind][name] = res = scenario(kind, name, opts, srv, work)
                    w = res["window"]
                    lat = ""
                    if name == "latency" or not opts.rcvlowat:
                        lat = f", read p50 {fmt_ms(w['latency_ms']['p50'])} p99 {fmt_ms(w['latency_ms']['p99'])} ms"
                    if w.get("arrival_samples"):
                        a = w["arrival_latency_ms"]
                        lat = f", arrival p50 {fmt_ms(a['p50'])} p99 {fmt_ms(a['p99'])} ms" + lat
                    console.print(
                        f"    {w['msgs_per_s']:,.0f} msg/s{lat}, client CPU {fmt_cores(w['client_cpu']['cores'])}, "
                        f"server CPU {fmt_cores(w['server_cpu_cores'])}, other load {fmt_cores(w['other_load_cores'])}"
                    )
                    time.sleep(0.5)  # let the server finish closing the last client's connections
    results["targets"] = targets(results, opts)
    return results


def meta(opts: argparse.Namespace) -> dict[str, Any]:
    commit = None
    with contextlib.suppress(Exception):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": commit,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "ncpu": os.cpu_count(),
        "loadavg_before": load,
        "options": {k: v for k, v in vars(opts).items()},
    }


# --- verdicts and output ------------------------------------------------------------------


def get(results: dict, *path: str) -> Any:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def targets(results: dict, opts: argparse.Namespace) -> list[dict[str, Any]]:
    at_target_load = opts.subscribers == TARGET_SUBSCRIBERS
    at_target_rate = at_target_load and opts.rate == TARGET_RATE
    sd_msgs = get(results, "signaldesk", "throughput", "window", "msgs_per_s")
    nv_msgs = get(results, "naive", "throughput", "window", "msgs_per_s")
    sd_p99 = get(results, "signaldesk", "latency", "window", "arrival_latency_ms", "p99")
    sd_read_p99 = get(results, "signaldesk", "latency", "window", "latency_ms", "p99")
    judged_on = "arrival"
    if sd_p99 is None:
        sd_p99, judged_on = sd_read_p99, "read"
    out = []

    def add(name: str, measured: Any, ok: bool | None, conditions_met: bool, shown: str) -> None:
        out.append(
            {"target": name, "measured": measured, "pass": ok, "at_target_conditions": conditions_met, "shown": shown}
        )

    if sd_msgs is not None:
        add(
            f">= {TARGET_MSGS:,} delivered msg/s at {TARGET_SUBSCRIBERS} subscribers (durability on)",
            sd_msgs,
            sd_msgs >= TARGET_MSGS,
            at_target_load,
            f"{sd_msgs:,.0f} msg/s",
        )
    if sd_msgs is not None and nv_msgs:
        ratio = sd_msgs / nv_msgs
        add(
            f">= {TARGET_RATIO:g}x the naive FastAPI baseline",
            ratio,
            ratio >= TARGET_RATIO,
            at_target_load,
            f"{ratio:.2f}x",
        )
    if sd_p99 is not None:
        shown = f"{judged_on} {sd_p99:.2f} ms"
        if judged_on == "arrival" and sd_read_p99 is not None:
            shown += f" (read {sd_read_p99:.2f} ms)"
        add(
            f"p99 <= {TARGET_P99_MS:g} ms at {TARGET_RATE:g} events/s x {TARGET_SUBSCRIBERS} subscribers",
            sd_p99,
            sd_p99 <= TARGET_P99_MS,
            at_target_rate,
            shown,
        )
        delivered = get(results, "signaldesk", "latency", "window", "msgs_per_s") or 0.0
        expected = opts.rate * opts.subscribers
        add(
            f"latency scenario sustains {opts.rate:g} events/s (>= 95% delivered)",
            delivered,
            delivered >= 0.95 * expected,
            True,
            f"{delivered:,.0f} of {expected:,.0f} msg/s",
        )
    if "signaldesk" in results:
        lost = sum(get(results, "signaldesk", s, "integrity", "missing") or 0 for s in ("throughput", "latency"))
        dup = sum(get(results, "signaldesk", s, "integrity", "duplicates") or 0 for s in ("throughput", "latency"))
        add(
            "no missing or duplicate events, ids strictly increasing per connection",
            {"missing": lost, "duplicates": dup},
            lost == 0 and dup == 0,
            True,
            f"{lost} missing, {dup} duplicate",
        )
    return out


def fmt_ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def fmt_cores(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def fmt_int(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def fmt_closes(v: dict[str, int] | None) -> str:
    """Close codes and how many subscribers each closed, e.g. `3x4500`."""
    return "-" if v is None else (", ".join(f"{n}x{c}" for c, n in v.items()) or "0")


def print_verdicts(title: str, targets: list[dict[str, Any]], off_conditions: str) -> None:
    """One row per target: what it asks, what was measured, PASS or FAIL."""
    verdicts = Table(title=title, title_justify="left")
    verdicts.add_column("target")
    verdicts.add_column("measured", justify="right")
    verdicts.add_column("", justify="center")
    for t in targets:
        mark = "[green]PASS[/green]" if t["pass"] else "[red]FAIL[/red]"
        if not t["at_target_conditions"]:
            mark += f" [yellow]({off_conditions})[/yellow]"
        verdicts.add_row(t["target"], t["shown"], mark)
    console.print(verdicts)


def render(results: dict, opts: argparse.Namespace) -> None:
    kinds = [k for k in SERVERS if k in results]
    for name, title in (
        ("throughput", f"Throughput: {opts.subscribers} subscribers, publisher as fast as it sustainably goes"),
        ("latency", f"Latency: {opts.rate:g} events/s x {opts.subscribers} subscribers"),
    ):
        if name not in opts.scenarios:
            continue
        table = Table(title=title, title_justify="left")
        table.add_column("")
        for kind in kinds:
            table.add_column(kind, justify="right")
        if len(kinds) == 2:
            table.add_column("signaldesk / naive", justify="right")

        def row(
            label: str, path: tuple[str, ...], fmt: Any, ratio: bool = False, *, name: str = name, table: Table = table
        ) -> None:
            values = [get(results, kind, name, *path) for kind in kinds]
            cells = [fmt(v) for v in values]
            if len(kinds) == 2:
                a, b = values
                cells.append(f"{a / b:.2f}x" if ratio and a is not None and b else "")
            table.add_row(label, *cells)

        row("delivered msg/s", ("window", "msgs_per_s"), fmt_int, ratio=True)
        row("events/s per subscriber", ("window", "events_per_s"), fmt_int, ratio=True)
        if name == "latency" and opts.stamp_every:
            for q in ("p50", "p90", "p99", "max"):
                row(f"arrival latency {q} (ms)", ("window", "arrival_latency_ms", q), fmt_ms)
            row("arrival latency samples", ("window", "arrival_samples"), fmt_int)
            row("event: 1st subscriber p50 (ms)", ("window", "arrival_per_event", "first_arrival_ms", "p50"), fmt_ms)
            row("event: 1st subscriber p99 (ms)", ("window", "arrival_per_event", "first_arrival_ms", "p99"), fmt_ms)
            row("event: 1st to last p50 (ms)", ("window", "arrival_per_event", "fanout_spread_ms", "p50"), fmt_ms)
            row("event: 1st to last p99 (ms)", ("window", "arrival_per_event", "fanout_spread_ms", "p99"), fmt_ms)
        if name == "latency" or not opts.rcvlowat:
            for q in ("p50", "p90", "p99", "max"):
                row(f"read latency {q} (ms)", ("window", "latency_ms", q), fmt_ms)
            row("read latency samples", ("window", "latency_samples"), fmt_int)
        row("client CPU (cores)", ("window", "client_cpu", "cores"), fmt_cores)
        row("server CPU (cores)", ("window", "server_cpu_cores"), fmt_cores)
        row("other load on the machine (cores)", ("window", "other_load_cores"), fmt_cores)
        row("missing events", ("integrity", "missing"), fmt_int)
        row("duplicate events", ("integrity", "duplicates"), fmt_int)
        row("subscribers closed by server", ("integrity", "closed_by_server"), fmt_closes)
        console.print(table)

    print_verdicts("Targets (signaldesk, durability on)", results["targets"], "not at the target's load")

    notes = []
    for kind in kinds:
        for name in opts.scenarios:
            w = get(results, kind, name, "window") or {}
            cores = get(w, "client_cpu", "cores")
            if cores is not None and cores >= CLIENT_SATURATED:
                notes.append(
                    f"{kind} {name}: the load client used {cores:.2f} cores: it may be the bottleneck "
                    "(the figure is then a lower bound)"
                )
            other = w.get("other_load_cores")
            if other is not None and other >= DISTURBED:
                notes.append(f"{kind} {name}: other processes used {other:.2f} cores during the window: disturbed run")
            alive, n = w.get("alive"), w.get("subscribers")
            if alive is not None and alive < n:
                notes.append(f"{kind} {name}: only {alive} of {n} subscribers stayed connected")
    notes.append("server pinned to CPU 0, load client to CPU 1 (taskset)" if opts.pin else "no CPU pinning")
    info = get(results, "signaldesk", "info")
    if info:
        notes.append(
            f"signaldesk: {info.get('bus')} with synchronous={info.get('bus_synchronous')}, "
            f"ws protocol {info.get('ws_protocol')}, {info.get('publish_concurrency')} publishes in flight"
        )
    info = get(results, "naive", "info")
    if info:
        notes.append(f"naive: ws protocol {info.get('ws_protocol')}")
    if opts.stamp_every:
        notes.append(
            f"latency: arrival = kernel receive timestamp of the subscriber's socket (SO_TIMESTAMPNS, "
            f"1 read in {opts.stamp_every}), read = when the load client handled it (adds the client's "
            "own queueing); the p99 target is judged on arrival"
        )
    if opts.rcvlowat:
        notes.append(
            f"throughput: client sockets read with SO_RCVLOWAT={opts.rcvlowat} (fewer reads, frames delayed "
            "on purpose): no latency shown there; latency comes from the latency scenario, every frame"
        )
    else:
        notes.append(
            f"latency: sampled on 1 frame in {opts.sample_every} per connection (throughput), every frame (latency)"
        )
    for note in notes:
        console.print(f"  - {note}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench", description="WebSocket fan-out: signaldesk against a naive FastAPI baseline."
    )
    p.add_argument("--subscribers", type=int, help="WebSocket subscribers (default 1000; --quick: 20)")
    p.add_argument("--seconds", type=float, help="measurement window per scenario (default 10; --quick: 2)")
    p.add_argument("--warmup", type=float, help="seconds after the first event before measuring (default 2)")
    p.add_argument("--rate", type=float, default=TARGET_RATE, help="events/s in the latency scenario (default 100)")
    p.add_argument("--only", choices=SERVERS, help="run one server only")
    p.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pin the server to CPU 0 and the load client to CPU 1 with taskset (default: on when there are "
        "2+ CPUs and taskset exists), so the client never takes the server's core",
    )
    p.add_argument("--scenario", choices=("throughput", "latency"), help="run one scenario only")
    p.add_argument("--quick", action="store_true", help="smoke run: short warm-up and windows, few subscribers")
    p.add_argument("--window", type=int, default=1000, help="flow control: most events ahead of the slowest client")
    p.add_argument("--concurrency", type=int, default=256, help="signaldesk publishes in flight at once")
    p.add_argument(
        "--rcvlowat",
        type=int,
        default=4096,
        help="throughput scenario: SO_RCVLOWAT of the client's sockets, fewer reads (0: off)",
    )
    p.add_argument(
        "--stamp-every",
        type=int,
        default=4,
        help="latency scenario: kernel arrival timestamp on every k-th read per connection",
    )
    p.add_argument("--sample-every", type=int, default=16, help="throughput scenario: latency on 1 frame in k")
    p.add_argument("--drain-timeout", type=float, help="seconds to wait for the last events (default 10)")
    p.add_argument("--json", type=Path, default=RESULTS / "latest.json", help="where to write the results")
    opts = p.parse_args(argv)
    quick = opts.quick
    can_pin = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    if opts.pin is None:
        opts.pin = can_pin
    elif opts.pin and not can_pin:
        p.error("--pin needs 2 CPUs and taskset")
    opts.scenarios = [opts.scenario] if opts.scenario else ["throughput", "latency"]
    opts.subscribers = opts.subscribers or (20 if quick else TARGET_SUBSCRIBERS)
    opts.seconds = opts.seconds or (2.0 if quick else 10.0)
    opts.warmup = opts.warmup if opts.warmup is not None else (0.5 if quick else 2.0)
    opts.drain_timeout = opts.drain_timeout or (3.0 if quick else 10.0)
    check_load_options(p, opts)
    return opts


def check_load_options(p: argparse.ArgumentParser, opts: argparse.Namespace) -> None:
    """The options every load run has, once their defaults are in: within bounds, or a usage error."""
    if not 1 <= opts.subscribers <= 20_000:
        p.error("--subscribers must be between 1 and 20000")
    if not 0 < opts.rate <= 100_000:
        p.error("--rate must be between 0 and 100000 events/s")
    if not 0 < opts.seconds <= 600 or not 0 <= opts.warmup <= 600:
        p.error("--seconds and --warmup must be between 0 and 600")


def run_bench(
    opts: argparse.Namespace,
    run: Callable[[argparse.Namespace], dict[str, Any]],
    render: Callable[[dict, argparse.Namespace], None],
) -> int:
    """Run a benchmark (stopping its children on SIGTERM too), print its tables, write its JSON."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: children stop
    try:
        results = run(opts)
    except BenchError as e:
        console.print(f"[red]bench failed:[/red] {e}")
        return 1
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]")
        return 130
    render(results, opts)
    opts.json.parent.mkdir(parents=True, exist_ok=True)
    results["meta"]["options"]["json"] = str(opts.json)
    opts.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2, default=str))
    console.print(f"results: {opts.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_bench(parse_args(argv), run, render)


if __name__ == "__main__":
    sys.exit(main())
