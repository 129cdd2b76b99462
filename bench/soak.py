"""`make soak`: minutes of mixed load on one real `signaldesk serve`, then a verdict.

The server runs the simulated market at 600x with the predictor and the paper trading engine
started (SIGNALDESK_PREDICTOR_AUTOSTART, SIGNALDESK_HFT_AUTOSTART), in a fresh data directory.
Against it, in this process's one asyncio loop:

- publishers: `POST /api/events` at `--rate` events/s on every channel, each payload carrying
  `soak@<time.time_ns()>` in a string field (prediction.created's model_kind, automation_run.updated's
  and training.progress's message, hft.error's error). An answer 403 (the engine-owned types
  `hft.*`/`predictor.*` refused from outside) is expected, not a failure; every 5xx is one;
- subscribers: `--subscribers` raw WebSocket clients (bench.load_client's Conn), spread over the
  four channels, each leaving at random (a close frame, or the socket just dropped) and resuming
  with `?after=<last id>&epoch=<epoch>`; every id received is kept;
- jobs: an automation backfill first, then every `--job-interval` s a training job (ridge, lgbm
  in turn) and an automation run (evaluate, retrain, prune, backfill in turn);
- a sampler: the server's RSS and open file descriptors (/proc/<pid>/status, /proc/<pid>/fd).

At the end the publishers stop, every subscriber reconnects if it is away and drains up to the
log's head, and each one's ids are compared with the stored ones (`GET /api/events`) over the
span it covered. Verdict rules: docs/soak.md. Figures and samples go to bench/results/soak.json.

    python -m bench.soak [--minutes 10] [--subscribers 200] [--rate 20]
    python -m bench.soak --minutes 1 --subscribers 50      # a quick check that it runs
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import os
import random
import re
import socket
import statistics
import sys
import tempfile
import time
from array import array
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.table import Table

from bench.__main__ import RESULTS, BenchError, Proc, console, free_port, meta, print_verdicts, run_bench, wait_http
from bench.load_client import SO_TIMESTAMPNS, Conn, _own_cpu, _proc_cpu_seconds, now_ns, percentiles, raise_fd_limit

CHANNELS = ("prediction", "automation", "training", "hft")
STAMP_RE = re.compile(rb'"soak@(\d+)"')
TRAIN_KEY = "NSE_EQ|INE002A01018"  # one of the simulated market's five instruments
QS = (0.5, 0.99)
SERVER_ENV = {
    "SIGNALDESK_HOST": "127.0.0.1",
    "SIGNALDESK_MARKET_SOURCE": "simulated",
    "SIGNALDESK_MARKET_SPEED": "600",
    "SIGNALDESK_MARKET_SEED": "7",
    "SIGNALDESK_PREDICTOR_AUTOSTART": "true",
    "SIGNALDESK_HFT_AUTOSTART": "true",
    # every event stays stored for the run, so each subscriber's ids can be checked against them
    "SIGNALDESK_RETENTION_MAX_EVENTS": "100000000",
    "SIGNALDESK_LOG_LEVEL": "warning",
}
AUTOMATION_CYCLE: tuple[tuple[str, dict[str, Any]], ...] = (
    ("evaluate", {}),
    ("retrain", {"instruments": [TRAIN_KEY], "kinds": ["ridge"]}),
    ("prune", {"events": False}),
    ("backfill", {"source": "simulated", "instruments": [TRAIN_KEY], "days": 2}),
)


def stamped(channel: str, seq: int) -> tuple[str, dict[str, Any]]:
    """A valid event of `channel` whose payload carries the send time as `soak@<ns>`."""
    stamp = f"soak@{time.time_ns()}"
    if channel == "prediction":
        now = int(time.time())
        return "prediction.created", {
            "id": seq,
            "instrument_key": "SOAK|0",  # no such instrument: the engine ignores it
            "interval": "1m",
            "horizon_steps": 1,
            "ts_pred": now,
            "ts_target": now + 60,
            "pred_ret": 0.0,
            "pred_ret_adj": 0.0,
            "calib_bias": 0.0,
            "model_kind": stamp,
        }
    if channel == "automation":
        return "automation_run.updated", {"job_id": "soak", "message": stamp}
    if channel == "training":
        return "training.progress", {"job_id": "soak", "progress": 0.5, "message": stamp, "metrics": {}}
    return "hft.error", {"error": stamp}


# --- subscribers --------------------------------------------------------------------------


class SoakConn(Conn):
    """One connection of a Subscriber: keeps every id, times the stamped frames read in runs of data frames.

    A read that also holds a control frame (stream.ready, a heartbeat) goes through Conn's slow path,
    which hands the data frames over without their bytes: their ids are kept, their latency not.
    """

    sub: Subscriber
    live_after = 1 << 62  # the head_id of its stream.ready: frames above it are live, not replayed

    def _data(
        self, ids: list[int], buf: bytes | bytearray, pos: int, marks: list[int], stamps: list[bytes] | None = None
    ) -> None:
        sub = self.sub
        sub.ids.extend(ids)
        if ids[-1] > sub.last:
            sub.last = ids[-1]
        if ids[0] > self.live_after:  # a resume's replay measures the absence, not the server
            found = STAMP_RE.findall(buf, 0, pos)
            if found:
                sub.soak.latency(self.client.kts or now_ns(), found)

    def close(self, error: str | None = None) -> None:
        was = self.lost
        super().close(error)
        if not was:
            self.sub.gone.set()


class Subscriber:
    """One client of a channel that leaves at random and resumes from its last id."""

    def __init__(self, idx: int, channel: str, soak: Soak) -> None:
        self.idx = idx
        self.channel = channel
        self.soak = soak
        self.ids = array("q")
        self.last = -1
        self.first_head: int | None = None  # head_id of the first stream.ready: the span starts after it
        self.epoch: str | None = None
        self.conn: SoakConn | None = None
        self.gone = asyncio.Event()
        self.connects = 0
        self.left = 0  # disconnections it chose
        self.dropped: Counter[str] = Counter()  # disconnections it did not choose, by close code or error
        self.refused: list[str] = []  # resumes answered resumed=false, with the reason
        self.connect_errors = 0

    async def connect(self) -> bool:
        soak = self.soak
        path = f"/api/ws/{self.channel}"
        if self.epoch is not None:
            path += f"?after={max(self.last, self.first_head or 0)}&epoch={self.epoch}"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        try:
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", soak.port))
        except OSError:
            sock.close()
            self.connect_errors += 1
            return False
        conn = SoakConn(self.idx, soak, sock, (soak.port, path))
        conn.sub = self
        self.gone.clear()
        conn.start()
        try:
            ready = await asyncio.wait_for(conn.ready, 30)
        except (TimeoutError, ConnectionError):
            conn.close("no stream.ready")
            self.connect_errors += 1
            return False
        self.connects += 1
        conn.live_after = ready["head_id"]
        if self.epoch is None:
            self.first_head = ready["head_id"]
        elif not ready.get("resumed"):
            self.refused.append(str(ready.get("reason")))
        self.epoch = ready["epoch"]
        self.conn = conn
        return True

    async def run(self) -> None:
        """Connect, stay a random while, leave (close frame or dropped socket), resume; until the end."""
        soak = self.soak
        while not soak.finishing.is_set():
            if not await self.connect():
                await asyncio.sleep(0.5)
                continue
            waits = [asyncio.ensure_future(self.gone.wait()), asyncio.ensure_future(soak.finishing.wait())]
            await asyncio.wait(
                waits, timeout=random.expovariate(1 / soak.opts.mean_stay), return_when=asyncio.FIRST_COMPLETED
            )
            for w in waits:
                w.cancel()
            conn = self.conn
            assert conn is not None
            if conn.lost:
                self.dropped[str(conn.close_code) if conn.close_code else (conn.errors or ["?"])[-1][:40]] += 1
            elif soak.finishing.is_set():
                break
            else:
                self.left += 1
                if random.random() < 0.5:
                    conn.send_close()
                else:
                    conn.close()  # the socket just dropped, no close frame
            await asyncio.sleep(random.uniform(0.0, 0.5))

    async def drain(self, target: int, deadline: float) -> bool:
        """Be connected and hold every event up to `target`; False when it could not by `deadline` (monotonic)."""
        while self.last < target and time.monotonic() < deadline:
            if self.conn is None or self.conn.lost:
                if not await self.connect():
                    await asyncio.sleep(0.2)
                continue
            await asyncio.sleep(0.05)
        if self.conn is not None:
            self.conn.send_close()
        return self.last >= target


# --- the run ------------------------------------------------------------------------------


class Soak:
    """Publishers, subscribers, jobs and the sampler on one asyncio loop; the attributes Conn reads."""

    def __init__(self, opts: argparse.Namespace, port: int, pid: int) -> None:
        self.opts = opts
        self.port = port
        self.pid = pid
        self.host = "127.0.0.1"
        # what bench.load_client's Conn reads from its client
        self.buf = bytearray(256 * 1024)
        self.view = memoryview(self.buf)
        self.counts = [0] * opts.subscribers
        self.sample_every = 1
        self.stamp_every = 1  # a kernel arrival timestamp on every read
        self.measuring = False
        self.closing = False
        self.unexpected_close = 0
        self.kts = 0
        self.seconds = opts.minutes * 60
        self.t0_ns = 0
        self.lat = [array("q") for _ in range(4)]  # per quarter of the run, by send time
        self.late = array("q")  # stamped frames sent after the run (none expected)
        self.finishing = asyncio.Event()
        # a fixed pool of kept-alive connections: the server's fds do not swing with the publishers
        limits = httpx.Limits(max_connections=opts.http_connections, max_keepalive_connections=opts.http_connections)
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits)
        self.statuses: Counter[int] = Counter()
        self.failures: Counter[str] = Counter()  # requests that got no answer
        self.published: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()  # sends not made: --in-flight already waiting for answers
        self.refused: Counter[str] = Counter()  # 403: the type is not publishable from outside
        self.jobs: list[tuple[str, str]] = []  # (family, job_id)
        self.samples: list[dict[str, float]] = []
        self.subs: list[Subscriber] = []

    def grow(self, size: int) -> None:
        self.buf = bytearray(size * 2)
        self.view = memoryview(self.buf)

    def latency(self, t: int, stamps: list[bytes]) -> None:
        quarter = self.seconds * 1e9 / 4
        for s in stamps:
            sent = int(s)
            q = int((sent - self.t0_ns) / quarter)
            (self.lat[q] if 0 <= q < 4 else self.late).append(t - sent)

    async def request(self, method: str, url: str, **kw: Any) -> httpx.Response | None:
        """One REST call, its status counted (every 5xx fails the run); None when it got no answer."""
        try:
            r = await self.http.request(method, url, **kw)
        except httpx.HTTPError as e:
            self.failures[f"{method} {url.split('?')[0]}: {type(e).__name__}"] += 1
            return None
        self.statuses[r.status_code] += 1
        if r.status_code >= 500:
            self.failures[f"{method} {url.split('?')[0]}: {r.status_code} {r.text[:120]}"] += 1
        return r

    async def publish(self, channel: str, stop_at: float) -> None:
        """`--rate` events/s on `channel` on a fixed schedule, each send not waiting for the last.

        At most `--in-flight` sends wait for their answers; a slot beyond is skipped and counted, so
        a slow server shows as skipped sends, not as a queue in this client inflating the latency.
        """
        loop = asyncio.get_running_loop()
        interval = 1 / self.opts.rate
        t = loop.time() + random.uniform(0, interval)
        pending: set[asyncio.Task[None]] = set()
        seq = 0

        async def one(seq: int) -> None:
            type_, payload = stamped(channel, seq)
            r = await self.request("POST", "/api/events", json={"channel": channel, "type": type_, "payload": payload})
            if r is not None and r.status_code == 201:
                self.published[channel] += 1
            elif r is not None and r.status_code == 403:
                self.refused[channel] += 1
            elif r is not None and r.status_code < 500:
                self.failures[f"POST /api/events {channel}: {r.status_code} {r.text[:120]}"] += 1

        while t < stop_at:
            await asyncio.sleep(max(0.0, t - loop.time()))
            t += interval
            if len(pending) >= self.opts.in_flight:
                self.skipped[channel] += 1
                continue
            seq += 1
            task = asyncio.create_task(one(seq))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending)

    async def start_job(self, family: str, kind: str, params: dict[str, Any]) -> None:
        url = "/api/training/jobs" if family == "training" else "/api/automation/runs"
        r = await self.request("POST", url, json={"kind": kind, "params": params})
        if r is not None and r.status_code == 202:
            self.jobs.append((family, r.json()["job_id"]))
        elif r is not None and r.status_code < 500:
            self.failures[f"POST {url} {kind}: {r.status_code} {r.text[:160]}"] += 1

    async def drive_jobs(self, stop_at: float) -> None:
        """A backfill first (the training data), then a training job and an automation run per interval."""
        loop = asyncio.get_running_loop()
        await self.start_job("automation", "backfill", {"source": "simulated", "instruments": [], "days": 5})
        i = 0
        while loop.time() + self.opts.job_interval < stop_at:
            await asyncio.sleep(self.opts.job_interval)
            await self.start_job("training", ("ridge", "lgbm")[i % 2], {"instrument_key": TRAIN_KEY})
            await self.start_job("automation", *AUTOMATION_CYCLE[i % len(AUTOMATION_CYCLE)])
            i += 1

    async def sample(self) -> None:
        """The server's RSS and open fds every `--sample-interval` s, until the run ends, with the
        subscribers connected at that instant (each holds one of the server's fds)."""
        while not self.finishing.is_set():
            try:
                sample = {"t": (now_ns() - self.t0_ns) / 1e9, **process_resources(self.pid)}
            except OSError:
                return
            sample["connected"] = sum(s.conn is not None and not s.conn.lost for s in self.subs)
            self.samples.append(sample)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.finishing.wait(), self.opts.sample_interval)

    async def stored_ids(self, channel: str, after: int, upto: int) -> array:
        """The ids stored on `channel` in (after, upto], paged through GET /api/events."""
        ids = array("q")
        while True:
            r = await self.request("GET", f"/api/events?channel={channel}&after={after}&limit=1000")
            if r is None or r.status_code != 200:
                raise BenchError(f"GET /api/events on {channel} failed: {r and r.status_code}")
            page = [e["id"] for e in orjson.loads(r.content)["events"]]
            ids.extend(i for i in page if i <= upto)
            if not page or page[-1] >= upto:
                return ids
            after = page[-1]

    async def run(self) -> dict[str, Any]:
        opts = self.opts
        loop = asyncio.get_running_loop()
        subs = self.subs = [Subscriber(i, CHANNELS[i % len(CHANNELS)], self) for i in range(opts.subscribers)]
        self.t0_ns = now_ns()
        cpu0 = (sum(_own_cpu()), _proc_cpu_seconds(self.pid), time.monotonic())
        stop_at = loop.time() + self.seconds
        sampler = asyncio.create_task(self.sample())
        followers = [asyncio.create_task(s.run()) for s in subs]
        busy = [asyncio.create_task(self.publish(c, stop_at)) for c in CHANNELS]
        busy.append(asyncio.create_task(self.drive_jobs(stop_at)))
        progress = asyncio.create_task(self.report_progress(stop_at))
        await asyncio.gather(*busy)
        progress.cancel()
        # the end: no more leaving; every subscriber drains up to the log's head as it is now
        self.finishing.set()
        cpu1 = (sum(_own_cpu()), _proc_cpu_seconds(self.pid), time.monotonic())
        await asyncio.gather(*followers)
        await sampler
        r = await self.request("GET", "/api/events?channel=hft&limit=1")
        if r is None or r.status_code != 200:
            raise BenchError("GET /api/events failed at the end of the run")
        head = orjson.loads(r.content)["head_id"]
        stored: dict[str, array] = {}
        for channel in CHANNELS:
            starts = [s.first_head for s in subs if s.channel == channel and s.first_head is not None]
            stored[channel] = await self.stored_ids(channel, min(starts, default=head), head)
        targets = {c: (ids[-1] if ids else -1) for c, ids in stored.items()}
        deadline = time.monotonic() + opts.drain_timeout
        drained = await asyncio.gather(*(s.drain(targets[s.channel], deadline) for s in subs))
        self.closing = True
        integrity = check(subs, stored, targets)
        integrity["undrained"] = drained.count(False)
        jobs = await self.job_outcomes()
        await self.http.aclose()
        return {
            "integrity": integrity,
            "latency": self.latency_figures(),
            "resources": self.samples,
            "http": {
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "published": dict(self.published),
                "skipped": dict(self.skipped),
                "refused_403": dict(self.refused),
                "failures": dict(self.failures),
            },
            "jobs": jobs,
            "cpu_cores": {
                "client": (cpu1[0] - cpu0[0]) / (cpu1[2] - cpu0[2]),
                "server": (cpu1[1] - cpu0[1]) / (cpu1[2] - cpu0[2]) if cpu0[1] is not None and cpu1[1] else None,
            },
            "subscribers": {
                "connects": sum(s.connects for s in subs),
                "left": sum(s.left for s in subs),
                "dropped": dict(sum((s.dropped for s in subs), Counter())),
                "connect_errors": sum(s.connect_errors for s in subs),
            },
        }

    async def report_progress(self, stop_at: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(30)
            last = self.samples[-1] if self.samples else {}
            console.print(
                f"  {self.seconds - (stop_at - loop.time()):4.0f} s: published {sum(self.published.values()):,}, "
                f"RSS {last.get('rss_mb', 0):.0f} MB, {last.get('fds', 0)} fds, 5xx {self.count_5xx()}"
            )

    def count_5xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if code >= 500)

    async def job_outcomes(self) -> dict[str, int]:
        outcomes: Counter[str] = Counter()
        for family, job_id in self.jobs:
            url = f"/api/training/jobs/{job_id}" if family == "training" else f"/api/automation/runs/{job_id}"
            r = await self.request("GET", url)
            outcomes[f"{family} {r.json()['status']}" if r is not None and r.status_code == 200 else "unknown"] += 1
        return dict(outcomes)

    def latency_figures(self) -> dict[str, Any]:
        quarters = [percentiles(a, QS) | {"samples": len(a)} for a in self.lat]
        everything = array("q")
        for a in self.lat:
            everything.extend(a)
        return {"quarters": quarters, "all": percentiles(everything, QS) | {"samples": len(everything)}}


def process_resources(pid: int) -> dict[str, float]:
    """RSS (MB), threads and open file descriptors of a process, from /proc (never blocks: no disk)."""
    with open(f"/proc/{pid}/status", "rb") as f:
        status = dict(line.split(b":", 1) for line in f.read().splitlines() if b":" in line)
    return {
        "rss_mb": int(status[b"VmRSS"].split()[0]) / 1024,
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(status[b"Threads"]),
    }


def check(subs: list[Subscriber], stored: dict[str, array], targets: dict[str, int]) -> dict[str, Any]:
    """Each subscriber's ids against the stored ones over (its first head_id, its channel's target]."""
    lost = dup = steps_back = unknown = 0
    worst: list[str] = []
    for s in subs:
        if s.first_head is None:
            continue
        ids = stored[s.channel]
        target = targets[s.channel]
        expected = set(ids[bisect.bisect_right(ids, s.first_head) : bisect.bisect_right(ids, target)])
        got = s.ids
        seen = set(got)
        missing = len(expected - seen)
        dups = len(got) - len(seen)
        lost += missing
        dup += dups
        steps_back += sum(1 for a, b in zip(got, got[1:], strict=False) if b <= a)
        unknown += sum(1 for i in seen - expected if i <= target)
        if missing or dups:
            worst.append(f"subscriber {s.idx} ({s.channel}): {missing} missing, {dups} duplicate")
    return {
        "lost": lost,
        "duplicated": dup,
        "steps_back": steps_back,
        "not_stored": unknown,
        "received": sum(len(s.ids) for s in subs),
        "stored": {c: len(v) for c, v in stored.items()},
        "resumes_refused": dict(Counter(r for s in subs for r in s.refused)),
        "examples": worst[:10],
    }


# --- verdict ------------------------------------------------------------------------------


def verdicts(results: dict[str, Any], opts: argparse.Namespace) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    full = opts.minutes >= 10 and opts.subscribers >= 200

    def add(name: str, ok: bool, shown: str) -> None:
        out.append({"target": name, "measured": shown, "pass": ok, "at_target_conditions": full, "shown": shown})

    half = [s for s in results["resources"] if s["t"] >= opts.minutes * 30]
    if len(half) >= 2:
        rss = [s["rss_mb"] for s in half]
        spread, median = max(rss) - min(rss), statistics.median(rss)
        add(
            f"RSS flat over the last half: max - min <= {opts.rss_tolerance:.0%} of the median",
            spread <= opts.rss_tolerance * median,
            f"{min(rss):.0f}..{max(rss):.0f} MB ({spread / median:.1%} of {median:.0f})",
        )
        fds = [s["fds"] for s in half]
        rest = [s["fds"] - s["connected"] for s in half]  # besides the subscribers' sockets of that instant
        add(
            f"open fds flat over the last half, besides the connected subscribers': max - min <= {opts.fd_tolerance}",
            max(rest) - min(rest) <= opts.fd_tolerance,
            f"{min(rest)}..{max(rest)} (all: {min(fds)}..{max(fds)})",
        )
    else:
        add("RSS and fds sampled over the last half", False, f"{len(half)} samples")
    q = results["latency"]["quarters"]
    q2, q4 = q[1]["p99"], q[3]["p99"]
    if q2 is not None and q4 is not None:
        allowed = max(opts.p99_ratio * q2, q2 + opts.p99_slack)
        add(
            f"publish->arrival p99 not drifting: last quarter <= max({opts.p99_ratio:g}x, "
            f"+{opts.p99_slack:g} ms) the second quarter's",
            q4 <= allowed,
            f"{q4:.1f} ms (Q2 {q2:.1f}, allowed {allowed:.1f})",
        )
    else:
        add("publish->arrival latency measured in quarters 2 and 4", False, "no samples")
    i = results["integrity"]
    add("0 events lost across every resume", i["lost"] == 0 and i["undrained"] == 0, f"{i['lost']} lost")
    add("0 events duplicated across every resume", i["duplicated"] == 0, f"{i['duplicated']} duplicated")
    refused = sum(i["resumes_refused"].values())
    add("every resume resumed (no resumed=false)", refused == 0, f"{refused} refused")
    n5xx = sum(n for code, n in results["http"]["statuses"].items() if int(code) >= 500)
    add("0 answers 5xx", n5xx == 0, f"{n5xx} 5xx")
    unanswered = sum(results["http"]["failures"].values())
    add("every request answered as expected (no error, no 4xx but the 403s)", unanswered == 0, f"{unanswered} not")
    add("the server is still running", results["server_alive"], "yes" if results["server_alive"] else "no")
    errors = results["server_errors"]
    add("no ERROR and no traceback in the server's log during the run", not errors, f"{len(errors)} lines")
    return out


def render(results: dict[str, Any], opts: argparse.Namespace) -> None:
    lat = Table(title="publish -> arrival (kernel receive timestamp), by quarter of the run", title_justify="left")
    for col in ("", "Q1", "Q2", "Q3", "Q4", "all"):
        lat.add_column(col, justify="right")
    cols = [*results["latency"]["quarters"], results["latency"]["all"]]
    for key in ("p50", "p99", "max"):
        lat.add_row(f"{key} (ms)", *("-" if c[key] is None else f"{c[key]:.1f}" for c in cols))
    lat.add_row("samples", *(f"{c['samples']:,}" for c in cols))
    console.print(lat)
    res = Table(title="the server process, sampled", title_justify="left")
    for col in ("", "first", "half-way", "last", "max"):
        res.add_column(col, justify="right")
    samples = results["resources"]
    if samples:
        mid = min(samples, key=lambda s: abs(s["t"] - opts.minutes * 30))
        for key, fmt in (("rss_mb", "{:.0f}"), ("fds", "{}"), ("threads", "{}")):
            vals = [samples[0][key], mid[key], samples[-1][key], max(s[key] for s in samples)]
            res.add_row(key.replace("_mb", " (MB)"), *(fmt.format(v) for v in vals))
    console.print(res)
    i, h, s = results["integrity"], results["http"], results["subscribers"]
    console.print(
        f"  events: published {sum(h['published'].values()):,} {h['published']}, 403 {h['refused_403']}, "
        f"skipped (--in-flight answers pending) {h['skipped']}; "
        f"stored in the span {i['stored']}; received {i['received']:,} by {opts.subscribers} subscribers"
    )
    console.print(
        f"  subscribers: {s['connects']:,} connections, left {s['left']:,} times at random, dropped by the server "
        f"{s['dropped']}, connect errors {s['connect_errors']}; ids not increasing {i['steps_back']}, "
        f"not stored {i['not_stored']}, not drained {i['undrained']}"
    )
    console.print(f"  jobs: {results['jobs']}; HTTP statuses {h['statuses']}")
    cpu = results["cpu_cores"]
    server_cpu = "-" if cpu["server"] is None else f"{cpu['server']:.2f}"
    console.print(f"  CPU over the load, cores: this client {cpu['client']:.2f}, the server process {server_cpu}")
    for what, n in h["failures"].items():
        console.print(f"  [red]failure[/red] {n}x {what}")
    for line in results["server_errors"][:10]:
        console.print(f"  [red]server log:[/red] {line}")
    for line in i["examples"]:
        console.print(f"  [red]{line}[/red]")
    print_verdicts("Soak verdict", results["verdicts"], "not the full soak: 10 min, 200 subscribers")
    sent, skipped = sum(h["published"].values()), sum(h["skipped"].values())
    if skipped > 0.05 * (sent + skipped):
        console.print(
            f"  - [yellow]the server did not keep up with --rate {opts.rate:g}: {skipped:,} of {sent + skipped:,} "
            f"sends skipped ({opts.in_flight} per channel awaiting answers)[/yellow]"
        )
    load = results["meta"].get("loadavg_before")
    console.print(f"  - load average before the run: {load}; the machine's other work disturbs latency figures")


def run(opts: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"meta": meta(opts)}
    with tempfile.TemporaryDirectory(prefix="signaldesk-soak-") as tmp:
        work = Path(tmp)
        port = free_port()
        env = SERVER_ENV | {"SIGNALDESK_PORT": str(port), "SIGNALDESK_DATA_DIR": str(work / "data")}
        serve = Path(sys.executable).with_name("signaldesk")
        proc = Proc("soak-server", [str(serve), "serve"], work, env=env)
        try:
            wait_http(port, 120, proc)
            console.print(
                f"[bold]soak[/bold]: {opts.minutes:g} min, {opts.subscribers} subscribers, {opts.rate:g} events/s "
                f"per channel, server pid {proc.pid} (market 600x, predictor, paper engine)"
            )
            results |= asyncio.run(Soak(opts, port, proc.pid).run())
            results["server_alive"] = proc.popen.poll() is None
            # read before the server is stopped: what its shutdown logs is not the run's
            log = proc.log_path.read_text(errors="replace").splitlines()
            results["server_errors"] = [line for line in log if " ERROR " in line or line.startswith("Traceback")]
            if not results["server_alive"]:
                console.print(f"[red]the server exited ({proc.popen.returncode})[/red]{proc.tail()}")
        finally:
            proc.stop()
            results["server_log_tail"] = proc.log_path.read_text(errors="replace").splitlines()[-40:]
    results["verdicts"] = verdicts(results, opts)
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="length of the load (default 10)")
    p.add_argument("--subscribers", type=int, default=200, help="WebSocket subscribers over the 4 channels")
    p.add_argument("--rate", type=float, default=20.0, help="events/s published on each channel (default 20)")
    p.add_argument("--in-flight", type=int, default=4, help="publishes awaiting an answer per channel, at most")
    p.add_argument("--http-connections", type=int, default=16, help="kept-alive HTTP connections to the server")
    p.add_argument("--mean-stay", type=float, default=20.0, help="mean seconds a subscriber stays (exponential)")
    p.add_argument("--job-interval", type=float, default=30.0, help="seconds between training jobs/automation runs")
    p.add_argument("--sample-interval", type=float, default=2.0, help="seconds between RSS/fd samples")
    p.add_argument("--drain-timeout", type=float, default=60.0, help="seconds the subscribers get to catch up")
    p.add_argument("--rss-tolerance", type=float, default=0.10, help="RSS max-min over the last half, x median")
    p.add_argument("--fd-tolerance", type=int, default=20, help="open fds max-min over the last half")
    p.add_argument("--p99-ratio", type=float, default=2.0, help="allowed Q4 p99 / Q2 p99")
    p.add_argument("--p99-slack", type=float, default=10.0, help="ms Q4's p99 may exceed Q2's in any case")
    p.add_argument("--seed", type=int, help="random seed of the subscribers' comings and goings")
    p.add_argument("--json", type=Path, default=RESULTS / "soak.json", help="where to write the results")
    opts = p.parse_args(argv)
    if not 0 < opts.minutes <= 24 * 60:
        p.error("--minutes must be between 0 and 1440")
    if not 1 <= opts.subscribers <= 5000:
        p.error("--subscribers must be between 1 and 5000")
    if not 0 < opts.rate <= 1000:
        p.error("--rate must be between 0 and 1000 events/s per channel")
    random.seed(opts.seed)
    raise_fd_limit(opts.subscribers + 256)
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    passed: list[bool] = []

    def render_verdict(results: dict[str, Any], opts: argparse.Namespace) -> None:
        render(results, opts)
        passed.append(all(t["pass"] for t in results["verdicts"]))

    return run_bench(opts, run, render_verdict) or (0 if all(passed) else 1)


if __name__ == "__main__":
    sys.exit(main())
