"""N WebSocket subscribers in one plain-asyncio process: count, check and time every frame.

A client library (`websockets`) costs tens of microseconds per received message; a fan-out
benchmark needs a receiver that takes ~1M frames/s in one Python process. So this client does
the HTTP upgrade itself and reads server frames with the minimum of Python per frame:

- one raw non-blocking socket per connection, read from an asyncio reader callback
  (`loop.add_reader`) with `recv_into` into one buffer shared by all connections. (A plain
  Protocol's `recv(256 KiB)` allocates 256 KiB per read, four times the cost of the read
  itself; a BufferedProtocol still costs ~1.3 us more per read than a reader callback.) Each
  read is walked frame by frame (2-byte header, 16/64-bit lengths; server frames are never
  masked) only to find where the last complete frame ends and whether every frame is an
  unfragmented text frame;
- in that common case the event ids and publish timestamps of the whole chunk are pulled out
  with two C-level regex scans (`{"id":<digits>` and `"error":"<digits>"`; the publisher puts
  `time.time_ns()` in the payload's `error` string), and the ids are checked against the
  consecutive run they must form with one list comparison;
- anything else (control envelopes with `"id": null`, ping/close frames, fragments) goes
  through a slow path that parses each frame with orjson.

Per connection the client checks that event ids strictly increase: an id <= the previous one
is counted as a duplicate, a jump as missing events; at the end the ids the publisher reports
(first, last) give the events missing at the start and at the tail.

Latency is publish-to-receive, measured two ways against the timestamp in the payload (both
processes read the same wall clock, `time.time_ns()` / CLOCK_REALTIME):
- read latency: `time.time_ns()` when this client handles the read. It includes the client's
  own queueing: with 1000 sockets and ~10 us per read, a client that is busy reading adds
  up to milliseconds.
- arrival latency: the kernel's receive timestamp of the read (SO_TIMESTAMPNS; for a TCP
  read, the arrival of the last segment in it, so never earlier than any frame's arrival):
  when the bytes reached the subscriber's socket, independent of how fast this client is.
  `recvmsg` with ancillary data costs ~2.5 us more than `recv_into`, so only every
  `--stamp-every`-th read of each connection asks for it.
Read latency is sampled on every `--sample-every`-th data frame of each connection (a fixed
fraction of the stream, unbiased by how frames happen to be coalesced into reads); 1 samples
every frame. Arrival latency covers the sampled frames of the timestamped reads.

The measurement window starts `--warmup` seconds after the first data frame and lasts
`--seconds`; frames are attributed to the window by the time their read is processed. The
client's own CPU (user + sys, `resource.getrusage`) over the window is reported as cores,
next to the server's and the whole machine's (from /proc), so a client bottleneck or other
load on the machine is visible.

Reads: a subscriber of a server that writes each frame on its own gets one frame per read,
and a read costs ~10 us of CPU (syscall, epoll, asyncio) against ~0.5 us of parsing per frame;
at ~100k frames/s that is a whole core, taken from the server on a small machine. For the
throughput scenario the orchestrator therefore sets `--rcvlowat` (SO_RCVLOWAT, e.g. 4 KiB):
the kernel reports a socket readable only once that much is buffered, so reads are fuller
and the client stays cheap. It delays frames by design, so latency measured with it is not
publish-to-receive latency; the latency scenario runs without it. It is reset to 1 byte when
the window ends, so the tail of every stream is read.

Flow control: the client tells the publisher, over a loopback TCP link (`--control-port`),
the fewest data frames any live connection has received so far (8-byte big-endian integers,
every 2 ms). The publisher keeps at most its window of events ahead of that, which is what
"as fast as it sustainably goes" means: no subscriber falls behind without bound.

Several servers and channels: `--endpoint PORT/PATH` (repeatable) replaces `--port`/`--path`;
connection i goes to endpoint i % E, so the subscribers are split evenly (bench.scaleout: two
API processes of one Redis-backed cluster, each channel's path on each). `--server-pid` is
repeatable too: the server CPU is the sum (the API processes and Redis).

Protocol with the orchestrator (`python -m bench`), JSON lines:
  stdout  {"phase": "ready", ...}            all N connections upgraded and saw stream.ready
  stdout  {"phase": "window", ...}           the measurement window's figures
  stdin   {"first_id": a, "last_id": b}      what the publisher published, once it stopped
          (+ "paths": {path: {"published": n, "first_id": a, "last_id": b}} when the events
           are spread over channels: each connection is checked against its own path's ids,
           which are not consecutive, so missing = published - received)
  stdout  {"phase": "final", ...}            per-connection integrity, then the client exits
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import hashlib
import os
import re
import resource
import socket
import struct
import sys
import time
from array import array
from typing import Any

import orjson

ID_RE = re.compile(rb'\{"id":(\d+)')
TS_RE = re.compile(rb'"error":"(\d+)"')
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
DEAD = 1 << 62  # progress value of a closed connection: it no longer holds the publisher back
CLOSE_NORMAL = b"\x88\x82\x00\x00\x00\x00" + struct.pack("!H", 1000)  # masked with a zero key
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python does not export it
SCM_TIMESTAMPNS = SO_TIMESTAMPNS


def now_ns() -> int:
    return time.time_ns()


class Conn:
    """One subscriber on a raw non-blocking socket, read from an asyncio reader callback.

    Data frames are counted and checked; control frames are skipped.
    """

    def __init__(self, idx: int, client: LoadClient, sock: socket.socket, endpoint: tuple[int, str]) -> None:
        self.idx = idx
        self.client = client
        self.sock = sock
        self.port, self.path = endpoint
        self.fd = sock.fileno()
        self.key = base64.b64encode(os.urandom(16))
        self.upgraded = False
        self.head = b""  # handshake bytes so far
        self.rest = b""  # an incomplete frame carried to the next read
        self.frag: list[bytes] | None = None  # a fragmented text message being assembled
        self.ready = asyncio.get_running_loop().create_future()
        self.first = -1  # first event id received
        self.last = -1  # highest event id received
        self.received = 0  # data frames with an id greater than every earlier one
        self.dups = 0  # data frames whose id was <= the previous one
        self.gaps = 0  # ids skipped between consecutive data frames
        self.controls = 0
        self.heartbeats = 0
        self.skip = idx % client.sample_every  # frames until the next latency sample
        self.stamp_in = idx % client.stamp_every if client.stamp_every else -1  # reads until a kernel timestamp
        self.close_code: int | None = None
        self.lost = False
        self.errors: list[str] = []

    # --- connection ---------------------------------------------------------------------

    def start(self) -> None:
        c = self.client
        asyncio.get_running_loop().add_reader(self.fd, self.readable)
        self.send(
            b"GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % (self.path.encode(), c.host.encode(), self.port, self.key)
        )

    def send(self, data: bytes) -> None:
        """Small writes only (upgrade, pong, close): they fit in an empty socket buffer."""
        if self.lost:
            return
        try:
            self.sock.send(data)
        except OSError as e:
            self.close(f"send failed: {e}")

    def close(self, error: str | None = None) -> None:
        if self.lost:
            return
        self.lost = True
        if error is not None:
            self.errors.append(error)
        self.client.counts[self.idx] = DEAD
        asyncio.get_running_loop().remove_reader(self.fd)
        self.sock.close()
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"connection {self.idx} closed before stream.ready: {error}"))
        elif not self.client.closing and self.close_code is None:
            self.client.unexpected_close += 1

    def fail(self, why: str) -> None:
        self.close(why)

    def _handshake(self, data: bytes) -> bytes | None:
        head = self.head + data
        end = head.find(b"\r\n\r\n")
        if end < 0:
            self.head = head
            return None
        lines = head[:end].split(b"\r\n")
        if not lines[0].startswith(b"HTTP/1.1 101"):
            self.fail(f"upgrade refused: {lines[0].decode(errors='replace')}")
            return None
        accept = base64.b64encode(hashlib.sha1(self.key + WS_GUID).digest())
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
        if headers.get(b"sec-websocket-accept") != accept:
            self.fail("bad Sec-WebSocket-Accept")
            return None
        self.upgraded = True
        self.head = b""
        return head[end + 4 :]

    # --- reading ------------------------------------------------------------------------

    def readable(self) -> None:
        """Read into the client's one shared buffer, after this connection's incomplete frame.

        The frames are handled before the next read, so every connection can share it; an
        incomplete last frame is copied out and put back in front of the next read.
        """
        c = self.client
        r = len(self.rest)
        if r:
            if r + 65536 > len(c.buf):
                c.grow(r + 65536)
            c.buf[:r] = self.rest
            view = c.view[r:]
        else:
            view = c.view
        try:
            if self.stamp_in == 0:  # this read also asks the kernel when the data arrived
                self.stamp_in = c.stamp_every
                nbytes, anc, _, _ = self.sock.recvmsg_into([view], 64)
                c.kts = 0
                for level, kind, data in anc:
                    if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and len(data) >= 16:
                        sec, nsec = struct.unpack("qq", data[:16])
                        c.kts = sec * 1_000_000_000 + nsec
            else:
                nbytes = self.sock.recv_into(view)
                c.kts = 0
            self.stamp_in -= 1
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.close(f"read failed: {e}")
            return
        if not nbytes:
            self.close(None if self.close_code is not None or c.closing else "connection closed without a close frame")
            return
        n = r + nbytes
        if self.upgraded:
            self._frames(c.buf, n)
            return
        data = bytes(c.buf[:n])
        self.rest = b""
        rest = self._handshake(data)
        if rest:
            self._frames(rest, len(rest))

    def _frames(self, buf: bytes | bytearray, n: int) -> None:
        """Handle the complete frames in buf[:n]; keep an incomplete last one for the next read."""
        pos = 0
        frames = 0
        plain = True  # every frame so far is a FIN text frame
        c = self.client
        every = c.sample_every
        # frame index of the next latency sample in this read; -1 when sampling every frame
        # (one regex scan of the read is cheaper then) or when not measuring
        sample = self.skip if c.measuring and every > 1 else -1
        marks: list[int] = []
        starts: list[int] = []  # where each frame's payload begins
        while n - pos >= 2:
            ln = buf[pos + 1]
            if ln < 126:
                start = pos + 2
                end = start + ln
            elif ln == 126:
                if n - pos < 4:
                    break
                start = pos + 4
                end = start + (buf[pos + 2] << 8 | buf[pos + 3])
            elif ln == 127:
                if n - pos < 10:
                    break
                start = pos + 10
                end = start + int.from_bytes(buf[pos + 2 : pos + 10], "big")
            else:
                self.fail("masked frame from the server")
                return
            if end > n:
                break
            if buf[pos] != 0x81:
                plain = False
            if frames == sample:
                marks.append(pos)
                sample += every
            starts.append(start)
            frames += 1
            pos = end
        self.rest = bytes(buf[pos:n]) if pos < n else b""
        if not frames:
            return
        if plain:
            # the envelope's id opens each frame's payload; a payload's own `{"id":` (a
            # prediction's) is not the event's, so only matches at a frame's start count
            found = [ID_RE.match(buf, start) for start in starts]
            if all(found):  # all data frames: the fast path
                self._data([int(m[1]) for m in found if m is not None], buf, pos, marks)
                return
        self._slow(buf, pos)

    def _data(
        self, ids: list[int], buf: bytes | bytearray, pos: int, marks: list[int], stamps: list[bytes] | None = None
    ) -> None:
        """Account for data frames `ids` read together.

        buf[:pos] holds them; `marks` are the offsets of the frames to sample (sampling every
        k-th frame), or `stamps` their timestamps (slow path).
        """
        k = len(ids)
        last = self.last
        if last < 0:
            self.first = ids[0]
            last = ids[0] - 1
        if ids[0] == last + 1 and ids[-1] == last + k and (k < 3 or ids == list(range(last + 1, last + k + 1))):
            self.last = ids[-1]
            self.received += k
        else:
            for i in ids:
                if i <= last:
                    self.dups += 1
                else:
                    self.gaps += i - last - 1
                    last = i
                    self.received += 1
            self.last = last
        c = self.client
        c.counts[self.idx] += k
        if c.measuring:
            c.win_frames += k
            every = c.sample_every
            skip = self.skip
            if skip < k:
                if stamps is not None:
                    taken = stamps[skip::every]
                elif every == 1:
                    taken = TS_RE.findall(buf, 0, pos)
                    if len(taken) != k:
                        taken = []
                else:
                    search = TS_RE.search
                    found = [search(buf, m, pos) for m in marks]
                    taken = [f[1] for f in found if f is not None]
                if len(taken) != (k - skip + every - 1) // every:  # not our publisher's payload
                    c.unstamped += k
                else:
                    sent = list(map(int, taken))
                    t = now_ns()
                    c.lat.extend(map(t.__sub__, sent))
                    if c.kts:
                        c.arrival.extend(map(c.kts.__sub__, sent))
                        c.arrival_ids.extend(ids[skip::every])
            self.skip = (skip - k) % every

    def _slow(self, buf: bytes | bytearray, end: int) -> None:
        """Frame by frame: control envelopes, ping/pong/close, fragments, anything odd."""
        pos = 0
        while pos < end:
            b0 = buf[pos]
            ln = buf[pos + 1]
            if ln < 126:
                hl = 2
            elif ln == 126:
                hl, ln = 4, buf[pos + 2] << 8 | buf[pos + 3]
            else:
                hl, ln = 10, int.from_bytes(buf[pos + 2 : pos + 10], "big")
            payload = buf[pos + hl : pos + hl + ln]
            pos += hl + ln
            fin, opcode = b0 & 0x80, b0 & 0x0F
            if opcode == 0x1 or opcode == 0x0:
                if opcode == 0x1 and self.frag is not None:
                    self.fail("new text message inside a fragmented one")
                    return
                if not fin:
                    self.frag = (self.frag or []) + [payload]
                    continue
                if self.frag is not None:
                    payload, self.frag = b"".join(self.frag + [payload]), None
                self._text(payload)
            elif opcode == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.send(CLOSE_NORMAL)
                self.close()
                return
            elif opcode == 0x9:  # ping: pong with the same payload, masked with a zero key
                self.send(bytes([0x8A, 0x80 | len(payload)]) + b"\x00\x00\x00\x00" + payload)
            elif opcode == 0xA:
                pass
            else:
                self.fail(f"unexpected opcode {opcode}")
                return

    def _text(self, payload: bytes) -> None:
        try:
            msg = orjson.loads(payload)
            id_ = msg["id"]
        except Exception:
            self.fail(f"not an envelope: {payload[:80]!r}")
            return
        if id_ is None:
            self.controls += 1
            kind = msg.get("type")
            if kind == "stream.ready":
                if not self.ready.done():
                    self.ready.set_result(msg.get("payload"))
            elif kind == "stream.heartbeat":
                self.heartbeats += 1
            return
        if not self.ready.done():
            self.fail("data frame before stream.ready")
            return
        payload = msg.get("payload")
        stamp = payload.get("error") if isinstance(payload, dict) else None
        stamps = [stamp.encode()] if isinstance(stamp, str) and stamp.isdigit() else []
        self._data([int(id_)], b"", 0, [], stamps)

    def send_close(self) -> None:
        if not self.lost:
            self.send(CLOSE_NORMAL)
            self.close()


def _proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), from /proc; None when unavailable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _procs_cpu_seconds(pids: list[int]) -> float | None:
    """The summed CPU seconds of `pids`; None when there are none or one is unreadable."""
    total = 0.0
    for pid in pids:
        seconds = _proc_cpu_seconds(pid)
        if seconds is None:
            return None
        total += seconds
    return total if pids else None


def _machine_busy_seconds() -> tuple[float, float] | None:
    """CPU-seconds all cores spent busy since boot, and the part of it in (soft)irq, from /proc/stat.

    Loopback TCP is processed largely in softirq, which the kernel charges to no process:
    it is reported apart from "other load".
    """
    try:
        with open("/proc/stat", "rb") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        tick = os.sysconf("SC_CLK_TCK")
        idle = values[3] + values[4]  # idle + iowait
        irq = values[5] + values[6]  # irq + softirq
        return (sum(values[:8]) - idle) / tick, irq / tick
    except (OSError, IndexError, ValueError):
        return None


def _own_cpu() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def percentiles(samples: array, qs: tuple[float, ...]) -> dict[str, float | None]:
    if not samples:
        return {f"p{q * 100:g}": None for q in qs} | {"max": None, "min": None}
    s = sorted(samples)
    out: dict[str, float | None] = {}
    for q in qs:
        out[f"p{q * 100:g}"] = s[min(len(s) - 1, int(q * len(s)))] / 1e6
    out["max"] = s[-1] / 1e6
    out["min"] = s[0] / 1e6
    return out


class LoadClient:
    def __init__(self, args: argparse.Namespace) -> None:
        self.host: str = args.host
        self.endpoints: list[tuple[int, str]] = args.endpoints
        self.n: int = args.subscribers
        self.warmup: float = args.warmup
        self.seconds: float = args.seconds
        self.sample_every: int = max(1, args.sample_every)
        self.stamp_every: int = max(0, args.stamp_every)
        self.control_port: int | None = args.control_port
        self.server_pids: list[int] = args.server_pid or []
        self.drain_timeout: float = args.drain_timeout
        self.rcvlowat: int = args.rcvlowat
        self.data_timeout: float = args.data_timeout
        self.conns: list[Conn] = []
        # one read buffer for every connection: asyncio reads into it (recv_into) and the frames
        # are handled before the next read; an incomplete frame is copied out and put back in
        # front of the next read. A recv() of asyncio's 256 KiB would allocate that much per read.
        self.buf = bytearray(256 * 1024)
        self.view = memoryview(self.buf)
        self.counts: list[int] = [0] * self.n
        self.measuring = False
        self.closing = False
        self.unexpected_close = 0
        self.win_frames = 0
        self.unstamped = 0
        self.lat: array = array("q")  # ns, publish to read by this client
        self.arrival: array = array("q")  # ns, publish to arrival in the socket (kernel timestamp)
        self.arrival_ids: array = array("q")  # the event id of each arrival sample
        self.kts = 0  # kernel arrival timestamp of the current read, 0 when not asked for
        self.first_data = asyncio.get_running_loop().create_future()
        self.window_done = asyncio.get_running_loop().create_future()
        self._marks: dict[str, Any] = {}

    def grow(self, size: int) -> None:
        self.buf = bytearray(size * 2)
        self.view = memoryview(self.buf)

    @staticmethod
    def emit(obj: dict[str, Any]) -> None:
        sys.stdout.write(orjson.dumps(obj).decode() + "\n")
        sys.stdout.flush()

    async def connect_all(self) -> float:
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(64)
        t0 = time.perf_counter()

        async def one(i: int) -> None:
            async with gate:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self.stamp_every:
                    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                endpoint = self.endpoints[i % len(self.endpoints)]
                try:
                    await loop.sock_connect(sock, (self.host, endpoint[0]))
                except OSError:
                    sock.close()
                    raise
                conn = Conn(i, self, sock, endpoint)
                self.conns.append(conn)
                conn.start()
                await asyncio.wait_for(conn.ready, 30)

        await asyncio.gather(*(one(i) for i in range(self.n)))
        self.conns.sort(key=lambda c: c.idx)
        return time.perf_counter() - t0

    async def report_progress(self) -> None:
        """Tell the publisher the fewest data frames any live connection has received."""
        if self.control_port is None:
            return
        _, writer = await asyncio.open_connection("127.0.0.1", self.control_port)
        writer.write(b"progress\n")
        sent = -1
        counts = self.counts
        try:
            while True:
                low = min(counts)
                if low != sent:
                    writer.write(low.to_bytes(8, "big"))
                    sent = low
                await asyncio.sleep(0.002)
        finally:
            writer.close()

    def _mark(self) -> dict[str, Any]:
        user, sys_ = _own_cpu()
        return {
            "ns": time.time_ns(),
            "user": user,
            "sys": sys_,
            "server": _procs_cpu_seconds(self.server_pids),
            "machine": _machine_busy_seconds(),
            "frames": self.win_frames,
        }

    def _start_window(self) -> None:
        self._marks["start"] = self._mark()
        self.measuring = True
        asyncio.get_running_loop().call_later(self.seconds, self._end_window)

    def set_rcvlowat(self, nbytes: int) -> None:
        for c in self.conns:
            if not c.lost:
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, max(1, nbytes))

    def _end_window(self) -> None:
        self.measuring = False
        self._marks["end"] = self._mark()
        if self.rcvlowat > 1:
            self.set_rcvlowat(1)  # the tail of every stream must be read now
        if not self.window_done.done():
            self.window_done.set_result(None)

    async def watch_first_data(self) -> None:
        """Start the window `warmup` seconds after the first data frame on any connection."""
        deadline = time.monotonic() + self.data_timeout
        while max(self.counts, default=0) == 0 or all(c >= DEAD for c in self.counts):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no data frame within {self.data_timeout:.0f} s of ready")
            await asyncio.sleep(0.001)
        asyncio.get_running_loop().call_later(self.warmup, self._start_window)

    def per_event(self) -> dict[str, Any]:
        """Arrival latency per event: the first subscriber (commit + start of the fan-out) and the
        spread to the last sampled one (how long the fan-out of one event takes)."""
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for i, lat in zip(self.arrival_ids, self.arrival, strict=True):
            if lat < first.get(i, 1 << 62):
                first[i] = lat
            if lat > last.get(i, -(1 << 62)):
                last[i] = lat
        firsts = array("q", first.values())
        spreads = array("q", (last[i] - first[i] for i in first))
        return {
            "events": len(first),
            "first_arrival_ms": percentiles(firsts, (0.5, 0.99)),
            "fanout_spread_ms": percentiles(spreads, (0.5, 0.99)),
        }

    def window_report(self) -> dict[str, Any]:
        a, b = self._marks["start"], self._marks["end"]
        wall = (b["ns"] - a["ns"]) / 1e9
        frames = b["frames"] - a["frames"]
        alive = sum(1 for c in self.conns if not c.lost)
        user, sys_ = b["user"] - a["user"], b["sys"] - a["sys"]
        server = b["server"] - a["server"] if a["server"] is not None and b["server"] is not None else None
        machine = irq = other = None
        if a["machine"] is not None and b["machine"] is not None:
            machine = b["machine"][0] - a["machine"][0]
            irq = b["machine"][1] - a["machine"][1]
            other = machine - user - sys_ - (server or 0.0)  # process CPU includes the softirq it ran
        return {
            "phase": "window",
            "seconds": wall,
            "subscribers": self.n,
            "alive": alive,
            "frames": frames,
            "msgs_per_s": frames / wall if wall > 0 else 0.0,
            "events_per_s": frames / wall / max(alive, 1) if wall > 0 else 0.0,
            "latency_ms": percentiles(self.lat, (0.5, 0.9, 0.99, 0.999)),
            "latency_samples": len(self.lat),
            "arrival_latency_ms": percentiles(self.arrival, (0.5, 0.9, 0.99, 0.999)),
            "arrival_samples": len(self.arrival),
            "arrival_per_event": self.per_event() if self.arrival else None,
            "stamp_every": self.stamp_every,
            "sample_every": self.sample_every,
            "unstamped_frames": self.unstamped,
            "client_cpu": {"user": user, "sys": sys_, "cores": (user + sys_) / wall if wall > 0 else None},
            "server_cpu_cores": server / wall if server is not None and wall > 0 else None,
            "machine_busy_cores": machine / wall if machine is not None and wall > 0 else None,
            "softirq_cores": irq / wall if irq is not None and wall > 0 else None,
            "other_load_cores": other / wall if other is not None and wall > 0 else None,
            "ncpu": os.cpu_count(),
            "unexpected_closes": self.unexpected_close,
        }

    async def read_expected(self) -> dict[str, Any]:
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if not line.strip():
            raise EOFError("the orchestrator closed stdin before sending first_id/last_id")
        return orjson.loads(line)

    async def drain(self, last_id: int | None, paths: dict[str, dict[str, Any]] | None = None) -> float:
        """Wait until every live connection has the last published id of its path, or of all
        (or the drain timeout)."""
        t0 = time.monotonic()
        if paths is not None:
            last = {c.idx: (paths.get(c.path) or {}).get("last_id") or 0 for c in self.conns}
        elif last_id is None:
            return 0.0
        else:
            last = dict.fromkeys((c.idx for c in self.conns), last_id)
        while time.monotonic() - t0 < self.drain_timeout:
            if all(c.lost or c.last >= last[c.idx] for c in self.conns):
                break
            await asyncio.sleep(0.01)
        return time.monotonic() - t0

    def final_report(
        self,
        first_id: int | None,
        last_id: int | None,
        drain_s: float,
        paths: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        missing = dups = gaps = head_missing = tail_missing = unexpected = 0
        never = 0
        worst: list[dict[str, Any]] = []
        for c in self.conns:
            m = c.gaps
            if paths is not None:  # ids of a path are not consecutive: count them
                published = (paths.get(c.path) or {}).get("published") or 0
                if c.last < 0:
                    never += 1 if published else 0
                    m = published
                else:
                    m = max(0, published - c.received)
                    unexpected += max(0, c.received - published)
            elif first_id is not None and last_id is not None and last_id >= first_id:
                if c.last < 0:
                    never += 1
                    m = last_id - first_id + 1
                else:
                    head = max(0, c.first - first_id)
                    tail = max(0, last_id - c.last)
                    head_missing += head
                    tail_missing += tail
                    m += head + tail
            missing += m
            dups += c.dups
            gaps += c.gaps
            if (m or c.dups or c.errors) and len(worst) < 5:
                worst.append(
                    {
                        "conn": c.idx,
                        "first": c.first,
                        "last": c.last,
                        "received": c.received,
                        "missing": m,
                        "duplicates": c.dups,
                        "close_code": c.close_code,
                        "errors": c.errors[:3],
                    }
                )
        close_codes: dict[str, int] = {}
        for c in self.conns:
            if c.close_code is not None:
                close_codes[str(c.close_code)] = close_codes.get(str(c.close_code), 0) + 1
        user, sys_ = _own_cpu()
        return {
            "phase": "final",
            "first_id": first_id,
            "last_id": last_id,
            "drain_seconds": drain_s,
            "received": sum(c.received for c in self.conns),
            "missing": missing,
            "missing_in_gaps": None if paths is not None else gaps,
            "unexpected": unexpected,
            "missing_at_start": head_missing,
            "missing_at_end": tail_missing,
            "connections_without_data": never,
            "duplicates": dups,
            "heartbeats": sum(c.heartbeats for c in self.conns),
            "closed_by_server": close_codes,
            "unexpected_closes": self.unexpected_close,
            "errors": sum(len(c.errors) for c in self.conns),
            "problem_connections": worst,
            "client_cpu_total": user + sys_,
            "client_max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }

    async def run(self) -> None:
        parent = os.getppid()

        async def exit_with_parent() -> None:
            while os.getppid() == parent:  # noqa: ASYNC110 (no event says a parent is gone: poll it)
                await asyncio.sleep(1.0)
            os._exit(3)  # the orchestrator is gone: nobody reads the results

        watchdog = asyncio.create_task(exit_with_parent())  # noqa: F841 (runs until the loop ends)
        connect_s = await self.connect_all()
        gc.collect()
        gc.freeze()  # the connections live until the end: keep them out of every collection
        if self.rcvlowat > 1:
            self.set_rcvlowat(self.rcvlowat)
        progress = asyncio.create_task(self.report_progress())
        await asyncio.sleep(0.05)  # the progress link is registered before the publisher starts
        self.emit({"phase": "ready", "connected": len(self.conns), "connect_seconds": connect_s})
        try:
            await self.watch_first_data()
            await self.window_done
            self.emit(self.window_report())
            expected = await self.read_expected()
            first_id, last_id, paths = expected.get("first_id"), expected.get("last_id"), expected.get("paths")
            drain_s = await self.drain(last_id, paths)
            self.emit(self.final_report(first_id, last_id, drain_s, paths))
        finally:
            self.closing = True
            progress.cancel()
            for c in self.conns:
                c.send_close()
            await asyncio.sleep(0.2)


def raise_fd_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.load_client", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, help="the server's port (or --endpoint)")
    p.add_argument("--path", default="/api/ws/prediction")
    p.add_argument(
        "--endpoint",
        action="append",
        metavar="PORT/PATH",
        help="a server port and WebSocket path, e.g. 8001/api/ws/hft; repeatable: connection i goes to endpoint "
        "i %% E (instead of --port/--path)",
    )
    p.add_argument("--subscribers", type=int, default=1000)
    p.add_argument("--warmup", type=float, default=2.0, help="seconds after the first data frame")
    p.add_argument("--seconds", type=float, default=10.0, help="length of the measurement window")
    p.add_argument("--sample-every", type=int, default=1, help="latency sample on every k-th frame per connection")
    p.add_argument(
        "--stamp-every",
        type=int,
        default=0,
        help="every k-th read per connection also takes the kernel's arrival timestamp (SO_TIMESTAMPNS); 0: never",
    )
    p.add_argument("--control-port", type=int, help="the publisher's control port, for flow-control progress")
    p.add_argument(
        "--server-pid",
        type=int,
        action="append",
        help="to report the server's CPU over the window; repeatable (summed)",
    )
    p.add_argument("--drain-timeout", type=float, default=10.0)
    p.add_argument(
        "--rcvlowat",
        type=int,
        default=0,
        help="SO_RCVLOWAT bytes during the window: fewer, fuller reads (throughput only: it delays frames)",
    )
    p.add_argument("--data-timeout", type=float, default=30.0)
    args = p.parse_args(argv)
    if args.endpoint:
        args.endpoints = []
        for spec in args.endpoint:
            port, slash, path = spec.partition("/")
            if not port.isdigit() or not slash:
                p.error(f"--endpoint {spec!r}: expected PORT/PATH")
            args.endpoints.append((int(port), "/" + path))
    elif args.port is not None:
        args.endpoints = [(args.port, args.path)]
    else:
        p.error("--port or --endpoint is required")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the load client only connects to loopback")
    raise_fd_limit(args.subscribers + 256)

    async def run() -> None:
        await LoadClient(args).run()

    asyncio.run(run())


if __name__ == "__main__":
    main()
