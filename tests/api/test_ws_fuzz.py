"""Every WebSocket door fuzzed against a real server with a token: `after` and `epoch` of every
wrong type and size (generated), huge query strings and paths, text, binary and oversized frames
from the client, and rapid connect/disconnect cycles. Each is answered with its documented close
code (docs/websocket-contracts.md, "Close codes"), and the server's health, subscriber count and
memory stay flat."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.api.ws_codes import CloseCode
from tests.support.server import ServerProcess
from tests.support.ws import recv_ready

TOKEN = "ws-fuzz-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir: Path = tmp_path_factory.mktemp("ws-fuzz") / "data"
    process = ServerProcess(data_dir, {"SIGNALDESK_TOKEN": TOKEN, "SIGNALDESK_MARKET_SOURCE": "off"})
    process.start()
    yield process
    process.stop()


def rss_kib(server: ServerProcess) -> int:
    assert server.proc is not None
    for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def close_code(url: str, send: bytes | str | None = None) -> int:
    """Connect, optionally send one frame, and return the close code the server ends with."""
    async with connect(url, additional_headers=AUTH, max_size=None, open_timeout=10) as ws:
        if send is not None:
            await recv_ready(ws)
            await ws.send(send)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd.code
    raise AssertionError("unreachable")


def bad_after() -> st.SearchStrategy[str]:
    """Anything but 1 to 18 decimal digits."""
    return st.one_of(
        st.text(min_size=1, max_size=40).filter(lambda s: not (s.isascii() and s.isdigit() and len(s) <= 18)),
        st.integers(min_value=10**18, max_value=10**40).map(str),
        st.integers(max_value=-1).map(str),
        st.floats(allow_nan=True).map(str),
    )


@given(after=bad_after(), epoch=st.one_of(st.none(), st.text(max_size=80)))
@seed(20261206)
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_a_malformed_after_is_refused_with_4400(server: ServerProcess, after: str, epoch: str | None) -> None:
    query = f"after={quote(after, safe='')}" + (f"&epoch={quote(epoch, safe='')}" if epoch is not None else "")
    assert asyncio.run(close_code(f"ws://127.0.0.1:{server.port}/api/ws/training?{query}")) == CloseCode.BAD_REQUEST


@given(epoch=st.text(min_size=1, max_size=200).filter(lambda s: not (s.isascii() and len(s) <= 64 and s.isalnum())))
@seed(20261206)
@settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_a_malformed_epoch_is_refused_with_4400(server: ServerProcess, epoch: str) -> None:
    url = f"ws://127.0.0.1:{server.port}/api/ws/training?after=0&epoch={quote(epoch, safe='')}"
    assert asyncio.run(close_code(url)) == CloseCode.BAD_REQUEST


def test_huge_queries_paths_and_client_frames_get_their_close_codes(server: ServerProcess) -> None:
    base = f"ws://127.0.0.1:{server.port}/api/ws"

    async def run() -> None:
        assert await close_code(f"{base}/training?after={'9' * 6000}") == CloseCode.BAD_REQUEST
        assert await close_code(f"{base}/{'c' * 3000}") == CloseCode.UNKNOWN_CHANNEL
        assert await close_code(f"{base}/training", send="hello") == CloseCode.UNSUPPORTED_DATA
        assert await close_code(f"{base}/training", send=b"\x00\xff") == CloseCode.UNSUPPORTED_DATA
        assert await close_code(f"{base}/training", send=b"x" * (2 << 20)) == CloseCode.MESSAGE_TOO_BIG

    asyncio.run(run())


def test_rapid_connect_disconnect_cycles_leave_the_server_flat(server: ServerProcess) -> None:
    url = f"ws://127.0.0.1:{server.port}/api/ws/training?after=0"

    async def cycles(n: int) -> None:
        for i in range(n):
            async with connect(url, additional_headers=AUTH, open_timeout=10) as ws:
                if i % 2:
                    await recv_ready(ws)  # half leave at once, half after the ready frame

    def health() -> dict[str, object]:
        answer = httpx.get(f"{server.http}/api/health", timeout=10).json()
        assert isinstance(answer, dict)
        return answer

    asyncio.run(cycles(100))  # warm: the first connections load what every later one uses
    before = rss_kib(server)
    asyncio.run(cycles(500))

    async def settled() -> None:
        while health()["subscribers"] != 0:
            await asyncio.sleep(0.02)

    asyncio.run(asyncio.wait_for(settled(), 10))
    assert health()["status"] == "ok"
    assert rss_kib(server) - before < 20 * 1024, f"RSS grew from {before} KiB to {rss_kib(server)} KiB"
