"""The guards before routing and the limits, against a real server process: the Host allow-list,
cross-site writes, the types only the engine publishes, body caps, the stream cap, the write rate.
(The same refusals from a real browser on another origin: frontend-v2/e2e/cross-site.e2e.ts.)"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.api.guards import HostAllowList
from tests.support.server import ServerProcess
from tests.support.waits import polled
from tests.support.ws import recv_ready

MiB = 1024 * 1024
GUARDED = {
    "SIGNALDESK_EVENTS_ALLOW_ENGINE_TYPES": "false",  # the default (the test harness turns it on)
    "SIGNALDESK_ALLOWED_HOSTS": "desk.lan",
    "SIGNALDESK_MAX_BODY_BYTES": str(64 * 1024),
    "SIGNALDESK_MAX_EVENT_BYTES": "4096",
    "SIGNALDESK_WS_MAX_CONNECTIONS": "2",
    "SIGNALDESK_MARKET_SOURCE": "off",
}
PREDICTION = {
    "id": 1,
    "instrument_key": "NSE_EQ|INE002A01018",
    "interval": "1m",
    "horizon_steps": 1,
    "ts_pred": 1_700_000_000,
    "ts_target": 1_700_000_060,
    "pred_ret": 0.001,
    "pred_ret_adj": 0.001,
    "calib_bias": 0.0,
    "model_kind": "mine",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    s = ServerProcess(tmp_path_factory.mktemp("guards") / "data", GUARDED)
    s.start()
    yield s
    s.stop()


def engine_state(server: ServerProcess) -> str:
    return str(httpx.get(f"{server.http}/api/hft/status").json()["state"])


def refusals(server: ServerProcess) -> dict[str, float]:
    text = httpx.get(f"{server.http}/metrics").text
    return {m[1]: float(m[2]) for m in re.finditer(r'signaldesk_requests_refused_total\{reason="(\w+)"\} (\S+)', text)}


def raw_http(port: int, head: str, body: bytes = b"") -> bytes:
    """Send a request as written and return the start of the answer (status line and headers)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        return sock.recv(65536)


def rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1]) * 1024  # type: ignore[index]


def test_a_host_not_on_the_list_is_refused_before_routing(server: ServerProcess) -> None:
    evil = {"host": f"evil.example:{server.port}"}
    r = httpx.get(f"{server.http}/api/health", headers=evil)
    assert r.status_code == 400 and f"evil.example:{server.port}" in r.json()["detail"]
    assert httpx.post(f"{server.http}/api/hft/start", headers=evil, json={}).status_code == 400
    assert engine_state(server) == "stopped"
    assert httpx.get(f"{server.http}/", headers=evil).status_code == 400  # nor the dashboard
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        f"GET /api/ws/hft HTTP/1.1\r\nHost: evil.example:{server.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    )
    assert raw_http(server.port, handshake).startswith(b"HTTP/1.1 403")
    for host in ("localhost", "127.0.0.1", "desk.lan", "DESK.lan."):
        assert httpx.get(f"{server.http}/api/health", headers={"host": f"{host}:{server.port}"}).status_code == 200
    assert refusals(server)["host"] >= 4


def test_cross_site_writes_are_refused_and_same_origin_ones_pass(server: ServerProcess) -> None:
    url = f"{server.http}/api/hft/start"
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"):
        r = httpx.post(url, content=b"", headers={"content-type": content_type})  # an HTML form, empty
        assert r.status_code == 415 and content_type.partition(";")[0] in r.json()["detail"], r.text
    assert httpx.post(url, content=b"{}").status_code == 415  # a body without a type
    foreign = httpx.post(url, json={}, headers={"origin": "http://evil.example"})
    assert foreign.status_code == 403 and "http://evil.example" in foreign.json()["detail"]
    assert httpx.post(url, headers={"origin": "null"}).status_code == 403  # a sandboxed page, no body
    assert engine_state(server) == "stopped"
    preflight = httpx.options(url, headers={"origin": "http://evil.example", "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers  # no CORS grant to a foreign origin
    same = httpx.post(f"{server.http}/api/hft/stop", headers={"origin": server.http})  # through the guards: 409
    assert same.status_code == 409, same.text
    counts = refusals(server)
    assert counts["content_type"] >= 4 and counts["origin"] >= 2


def test_the_engine_and_predictor_types_are_refused_a_forecast_is_taken(server: ServerProcess) -> None:
    for channel, type, payload in [
        ("hft", "hft.start", {"broker": "paper", "safe_mode": False, "live_trading_enabled": True, "limits": {}}),
        ("hft", "hft.error", {"error": "x"}),
        ("prediction", "predictor.error", {"error": "x"}),
    ]:
        r = server.publish(channel, type, payload)
        assert r.status_code == 403 and type in r.json()["detail"], r.text
    assert httpx.get(f"{server.http}/api/events", params={"channel": "hft"}).json()["events"] == []
    r = server.publish("prediction", "prediction.created", PREDICTION)  # bring your own model
    assert r.status_code == 201 and r.json()["type"] == "prediction.created"


def test_oversized_bodies_are_answered_413_before_they_are_read(server: ServerProcess) -> None:
    assert server.proc is not None
    before = rss_bytes(server.proc.pid)
    counted = refusals(server).get("body_too_large", 0)
    event = {"channel": "prediction", "type": "prediction.created", "payload": {**PREDICTION, "model_kind": "x" * 5000}}
    assert httpx.post(f"{server.http}/api/events", json=event).status_code == 413  # over 4096: one event
    head = (
        f"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * MiB}\r\n"
    )
    assert raw_http(server.port, head, b"{" * 1024).startswith(b"HTTP/1.1 413")  # 100 MB declared, 1 KB sent
    assert streamed_until_answered(server, "/api/hft/halt", chunk=16 * 1024, most=8 * MiB) < MiB
    assert httpx.post(f"{server.http}/api/hft/halt", json={"reason": "r" * 70_000}).status_code == 413
    assert refusals(server)["body_too_large"] >= counted + 4
    assert rss_bytes(server.proc.pid) - before < 20 * MiB
    assert httpx.get(f"{server.http}/api/events", params={"channel": "prediction"}).json()["head_id"] <= 1


def streamed_until_answered(server: ServerProcess, path: str, *, chunk: int, most: int) -> int:
    """Send a chunked JSON body until the server answers (413); the bytes it took to say so."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        sent = 0
        while sent < most:
            sock.sendall(f"{chunk:x}\r\n".encode() + b" " * chunk + b"\r\n")
            sent += chunk
            if select.select([sock], [], [], 0.01)[0]:
                assert sock.recv(65536).startswith(b"HTTP/1.1 413")
                return sent
    raise AssertionError(f"no answer after {most} bytes")


async def test_one_stream_over_the_cap_is_closed_1013(server: ServerProcess) -> None:
    async with connect(server.ws("hft")) as first, connect(server.ws("market")) as second:
        await recv_ready(first)
        await recv_ready(second)
        async with connect(server.ws("prediction")) as third:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(third.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        assert "try again later" in closed.value.rcvd.reason
    await polled(lambda: httpx.get(f"{server.http}/api/health").json()["subscribers"] == 0, timeout=5, every=0.05)
    async with connect(server.ws("prediction")) as again:
        await recv_ready(again)
    assert refusals(server)["ws_connections"] >= 1


def test_writes_over_the_rate_get_429_with_retry_after(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = server_factory(env={"SIGNALDESK_WRITE_RATE": "0.5", "SIGNALDESK_WRITE_BURST": "3"})
    server.start()
    stop = f"{server.http}/api/hft/stop"
    assert [httpx.post(stop).status_code for _ in range(3)] == [409, 409, 409]  # stopped: 409, but let in
    limited = httpx.post(stop)
    assert limited.status_code == 429 and "SIGNALDESK_WRITE_RATE" in limited.json()["detail"]
    assert 1 <= int(limited.headers["retry-after"]) <= 2
    assert httpx.get(f"{server.http}/api/hft/status").status_code == 200  # reads are not limited
    assert refusals(server)["rate_limited"] == 1


@pytest.mark.parametrize(
    ("bound", "host", "served"),
    [
        ("127.0.0.1", "[::1]:8000", True),
        ("127.0.0.1", "LOCALHOST.:8000", True),
        ("127.0.0.1", "desk.lan", True),
        ("127.0.0.1", "10.0.0.5:8000", False),
        ("127.0.0.1", "localhost.evil.example", False),
        ("0.0.0.0", "10.0.0.5:8000", True),
        ("0.0.0.0", "[fe80::1]:8000", True),
        ("0.0.0.0", "evil.example:8000", False),
        ("10.0.0.5", "10.0.0.5", True),
    ],
)
def test_host_allow_list(bound: str, host: str, served: bool) -> None:
    assert HostAllowList(bound, ["desk.lan"]).serves(host) is served
