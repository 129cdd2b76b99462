"""The WebSocket door against a real server process: resume, control frames, bad input, auth."""

from __future__ import annotations

import asyncio
import shutil

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.server import ServerProcess
from tests.support.ws import recv_events, recv_frame, recv_ready

TOKEN = "t0ken-for-tests-0123456789"


def publish_errors(server: ServerProcess, channel: str, n: int) -> list[int]:
    type = {"hft": "hft.error", "prediction": "predictor.error"}[channel]
    ids = []
    for i in range(n):
        r = server.publish(channel, type, {"error": f"e{i}"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


async def close_code(url: str, **kw: object) -> tuple[int, str]:
    async with connect(url, **kw) as ws:  # type: ignore[arg-type]
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_ready_then_live_events_then_heartbeat(server: ServerProcess) -> None:
    async with connect(server.ws("hft")) as ws:
        ready = await recv_ready(ws)
        assert ready["resumed"] is False and ready["reason"] is None and ready["heartbeat_interval"] == 0.5
        (entry_id,) = publish_errors(server, "hft", 1)
        frame = await recv_frame(ws)
        assert frame["id"] == entry_id and frame["channel"] == "hft" and frame["type"] == "hft.error"
        assert isinstance(frame["ts"], int)
        heartbeat = await recv_frame(ws, timeout=3)
        assert heartbeat == {
            "id": None,
            "channel": "hft",
            "type": "stream.heartbeat",
            "payload": {},
            "ts": heartbeat["ts"],
        }


async def test_resume_after_reconnect_gets_exactly_the_missed_events(server: ServerProcess) -> None:
    first = publish_errors(server, "hft", 3)
    publish_errors(server, "prediction", 2)
    async with connect(server.ws("hft", after=0)) as ws:
        ready = await recv_ready(ws)
        assert ready["resumed"] is True
        seen = [e["id"] for e in await recv_events(ws, 3)]
    assert seen == first
    missed = publish_errors(server, "hft", 4)
    async with connect(server.ws("hft", after=seen[-1], epoch=ready["epoch"])) as ws:
        assert (await recv_ready(ws))["resumed"] is True
        assert [e["id"] for e in await recv_events(ws, 4)] == missed
        live = publish_errors(server, "hft", 1)
        assert [e["id"] for e in await recv_events(ws, 1)] == live


async def test_after_beyond_head_is_ahead(server: ServerProcess) -> None:
    publish_errors(server, "hft", 2)
    async with connect(server.ws("hft", after=50)) as ws:
        ready = await recv_ready(ws)
    assert (ready["resumed"], ready["reason"], ready["head_id"]) == (False, "ahead", 2)


async def test_deleted_data_dir_gives_epoch_changed(server_factory, tmp_path) -> None:
    server = server_factory(tmp_path / "d1")
    server.start()
    ids = publish_errors(server, "hft", 3)
    async with connect(server.ws("hft", after=0)) as ws:
        epoch = (await recv_ready(ws))["epoch"]
    server.stop()
    shutil.rmtree(server.data_dir)
    server.start()
    publish_errors(server, "hft", 5)
    async with connect(server.ws("hft", after=ids[-1], epoch=epoch)) as ws:
        ready = await recv_ready(ws)
        assert (ready["resumed"], ready["reason"]) == (False, "epoch_changed")
        assert ready["epoch"] != epoch and ready["head_id"] == 5
        live = publish_errors(server, "hft", 1)
        assert [e["id"] for e in await recv_events(ws, 1)] == live


async def test_retention_gives_too_old(server_factory) -> None:
    server = server_factory(env={"SIGNALDESK_RETENTION_MAX_EVENTS": "3", "SIGNALDESK_RETENTION_INTERVAL": "0.1"})
    server.start()
    publish_errors(server, "hft", 6)

    async def floor() -> int:
        async with httpx.AsyncClient() as client:
            return int((await client.get(f"{server.http}/api/events", params={"channel": "hft"})).json()["floor"])

    async def until_pruned() -> None:
        while await floor() < 3:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(until_pruned(), 10)
    async with connect(server.ws("hft", after=1)) as ws:
        ready = await recv_ready(ws)
    assert (ready["resumed"], ready["reason"]) == (False, "too_old")


@pytest.mark.parametrize(
    ("path", "code", "reason_part"),
    [
        ("/api/ws/nope", 4404, "unknown channel 'nope'"),
        ("/api/ws/hft?after=-1", 4400, "after='-1'"),
        ("/api/ws/hft?after=12abc", 4400, "after="),
        ("/api/ws/hft?after=1&epoch=%3Cscript%3E", 4400, "epoch="),
    ],
)
async def test_bad_requests_close_with_documented_codes(
    server: ServerProcess, path: str, code: int, reason_part: str
) -> None:
    got_code, reason = await close_code(f"ws://127.0.0.1:{server.port}{path}")
    assert got_code == code
    assert reason_part in reason


async def test_client_data_frame_closes_1003_and_oversized_1009(server: ServerProcess) -> None:
    async with connect(server.ws("hft")) as ws:
        await recv_ready(ws)
        await ws.send("garbage{")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
    async with connect(server.ws("hft")) as ws:
        await recv_ready(ws)
        await ws.send("x" * 10_000)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert httpx.get(f"{server.http}/api/health").json()["status"] == "ok"


async def test_token_guards_websockets_and_rest(server_factory) -> None:
    server = server_factory(env={"SIGNALDESK_API_TOKEN": TOKEN})
    server.start()
    assert (await close_code(server.ws("hft")))[0] == 4401
    assert (await close_code(server.ws("hft"), additional_headers={"Authorization": "Bearer wrong-token-000000000"}))[
        0
    ] == 4401
    async with connect(server.ws("hft"), additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        await recv_ready(ws)
    async with connect(server.ws("hft"), subprotocols=["signaldesk.v1", f"bearer.{TOKEN}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "signaldesk.v1"
        await recv_ready(ws)

    assert server.publish("hft", "hft.error", {"error": "x"}).status_code == 401
    assert httpx.get(f"{server.http}/api/events", params={"channel": "hft"}).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert server.publish("hft", "hft.error", {"error": "x"}, headers=auth).status_code == 201
    assert httpx.get(f"{server.http}/api/health").status_code == 200


async def test_foreign_origin_is_refused_and_same_origin_allowed(server_factory) -> None:
    server = server_factory(env={"SIGNALDESK_ALLOWED_ORIGINS": "http://desk.example:5173"})
    server.start()
    assert (await close_code(server.ws("hft"), origin="http://evil.example"))[0] == 4403  # type: ignore[arg-type]
    for origin in (f"http://127.0.0.1:{server.port}", "http://desk.example:5173"):
        async with connect(server.ws("hft"), origin=origin) as ws:  # type: ignore[arg-type]
            await recv_ready(ws)
