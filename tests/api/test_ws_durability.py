"""Never lose an event: across a SIGKILL of the server, and for a client too slow to keep up."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.server import ServerProcess
from tests.support.ws import recv_events, recv_ready


async def publish_until_killed(server: ServerProcess, kill_after: int, concurrency: int = 8) -> list[int]:
    """Publish from several clients; SIGKILL the server once `kill_after` publishes returned.

    Returns the ids of every publish that returned 201 (acknowledged as durable).
    """
    acked: list[int] = []
    killed = asyncio.Event()

    async def worker(client: httpx.AsyncClient, n: int) -> None:
        i = 0
        while not killed.is_set():
            i += 1
            body = {"channel": "hft", "type": "hft.error", "payload": {"error": f"w{n}-{i}"}}
            try:
                r = await client.post(f"{server.http}/api/events", json=body)
            except httpx.TransportError:
                return
            assert r.status_code == 201, r.text
            acked.append(r.json()["id"])
            if len(acked) >= kill_after and not killed.is_set():
                server.kill()
                killed.set()

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(worker(client, n) for n in range(concurrency)))
    return acked


async def test_sigkill_loses_no_acknowledged_event(server: ServerProcess) -> None:
    async with connect(server.ws("hft")) as ws:
        epoch = (await recv_ready(ws))["epoch"]
    acked = await publish_until_killed(server, kill_after=300)
    assert len(acked) >= 300

    server.start()
    async with connect(server.ws("hft", after=0, epoch=epoch)) as ws:
        ready = await recv_ready(ws)
        assert (ready["epoch"], ready["resumed"]) == (epoch, True)
        assert ready["head_id"] >= max(acked)
        events = await recv_events(ws, ready["head_id"])  # every id is on hft here
    ids = [e["id"] for e in events]
    assert ids == list(range(1, ready["head_id"] + 1))  # each once, in order, no gap
    assert set(acked) <= set(ids)


def small_buffer_socket(port: int) -> socket.socket:
    """A client socket whose kernel receive buffer is tiny, so an idle reader falls behind fast."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


async def test_slow_consumer_is_closed_others_unaffected_and_it_resumes(server_factory) -> None:
    server = server_factory(env={"SIGNALDESK_WS_BUFFER_BYTES": str(64 * 1024)})
    server.start()
    blob = "x" * 8000
    published: list[int] = []

    async with (
        connect(server.ws("hft"), sock=small_buffer_socket(server.port), max_queue=1) as slow,
        connect(server.ws("hft")) as fast,
        httpx.AsyncClient(timeout=10) as client,
    ):
        ready = await recv_ready(slow)
        await recv_ready(fast)

        async def fast_reader() -> list[int]:
            seen: list[int] = []
            while True:
                (event,) = await recv_events(fast, 1)
                seen.append(event["id"])
                if event["payload"]["error"] == "last":
                    return seen

        async def subscribers() -> int:
            return int((await client.get(f"{server.http}/api/health")).json()["subscribers"])

        reader = asyncio.create_task(fast_reader())
        for _ in range(2000):  # the slow client stops reading; publish until the server drops it
            r = await client.post(
                f"{server.http}/api/events", json={"channel": "hft", "type": "hft.error", "payload": {"error": blob}}
            )
            published.append(r.json()["id"])
            if len(published) % 20 == 0 and await subscribers() == 1:
                break
        assert await subscribers() == 1, "the slow consumer was never closed"
        await client.post(
            f"{server.http}/api/events", json={"channel": "hft", "type": "hft.error", "payload": {"error": "last"}}
        )
        published.append(published[-1] + 1)

        assert await asyncio.wait_for(reader, 30) == published  # the fast client missed nothing

        got: list[int] = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                got += [e["id"] for e in await recv_events(slow, 1)]
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4500
        assert "slow consumer" in closed.value.rcvd.reason
        assert got == published[: len(got)]

    async with connect(server.ws("hft", after=got[-1] if got else 0, epoch=ready["epoch"])) as again:
        assert (await recv_ready(again))["resumed"] is True
        rest = [e["id"] for e in await recv_events(again, len(published) - len(got))]
    assert got + rest == published


async def test_client_that_stalls_during_replay_is_closed_and_can_resume(server_factory) -> None:
    env = {"SIGNALDESK_WS_STALL_TIMEOUT": "0.5", "SIGNALDESK_WS_BUFFER_BYTES": str(256 * 1024 * 1024)}
    server = server_factory(env=env)
    server.start()
    blob = "y" * 40_000
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(200):  # 8 MB: more than the kernel's socket buffers take
            r = await client.post(
                f"{server.http}/api/events", json={"channel": "hft", "type": "hft.error", "payload": {"error": blob}}
            )
            assert r.status_code == 201
    async with connect(server.ws("hft", after=0), sock=small_buffer_socket(server.port), max_queue=1) as stalled:
        ready = await recv_ready(stalled)
        async with httpx.AsyncClient() as client:

            async def until_dropped() -> None:
                while (await client.get(f"{server.http}/api/health")).json()["subscribers"]:
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(until_dropped(), 10)
        got: list[int] = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                got += [e["id"] for e in await recv_events(stalled, 1)]
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4500
    assert got == list(range(1, len(got) + 1))
    async with connect(server.ws("hft", after=got[-1] if got else 0, epoch=ready["epoch"])) as again:
        assert (await recv_ready(again))["resumed"] is True
        assert [e["id"] for e in await recv_events(again, 200 - len(got))] == list(range(len(got) + 1, 201))


async def test_a_slow_consumer_hears_4500_next_not_after_its_backlog(server_factory) -> None:
    """Closed for falling behind, a client's unsent backlog is dropped: reading again, it gets
    what the kernel's socket buffers held already, then the 4500, not the megabytes it was closed for."""
    behind = 8 * 1024 * 1024
    server = server_factory(env={"SIGNALDESK_WS_BUFFER_BYTES": str(behind)})
    server.start()
    blob = "z" * 40_000
    sent = 0
    async with (
        connect(server.ws("hft"), sock=small_buffer_socket(server.port), max_queue=1, max_size=None) as slow,
        httpx.AsyncClient(timeout=10) as client,
    ):
        await recv_ready(slow)
        for _ in range(400):  # the client reads nothing; publish until the server drops it
            body = {"channel": "hft", "type": "hft.error", "payload": {"error": blob}}
            assert (await client.post(f"{server.http}/api/events", json=body)).status_code == 201
            sent += len(blob)
            if (
                sent % (10 * len(blob)) == 0
                and (await client.get(f"{server.http}/api/health")).json()["subscribers"] == 0
            ):
                break
        assert sent > behind, "the slow consumer was closed before it fell behind"
        got = 0
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                got += len(await asyncio.wait_for(slow.recv(), 10))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4500, closed.value
    assert sent - got > behind // 2, f"{got} of {sent} bytes came before the close"  # the backlog was dropped
