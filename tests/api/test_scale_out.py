"""Many API processes on one Redis Streams bus: cross-process delivery, resume anywhere, epoch loss."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.server import ServerProcess
from tests.support.services import REDIS_URL, delete_keys
from tests.support.ws import recv_events, recv_ready


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix


def two_servers(server_factory, tmp_path, prefix: str) -> tuple[ServerProcess, ServerProcess]:  # type: ignore[no-untyped-def]
    env = {"SIGNALDESK_BUS_URL": REDIS_URL, "SIGNALDESK_BUS_PREFIX": prefix, "SIGNALDESK_MARKET_SOURCE": "off"}
    a = server_factory(tmp_path / "a", env)
    b = server_factory(tmp_path / "b", env)
    a.start()
    b.start()
    return a, b


def publish(server: ServerProcess, n: int) -> list[int]:
    return [server.publish("hft", "hft.error", {"error": f"e{i}"}).json()["id"] for i in range(n)]


async def test_events_published_on_one_process_reach_clients_of_another(server_factory, tmp_path, prefix) -> None:
    a, b = two_servers(server_factory, tmp_path, prefix)
    async with connect(b.ws("hft")) as on_b, connect(a.ws("hft")) as on_a:
        ready_b, ready_a = await recv_ready(on_b), await recv_ready(on_a)
        assert ready_a["epoch"] == ready_b["epoch"]
        ids = publish(a, 3) + publish(b, 2)
        assert ids == sorted(ids)
        assert [e["id"] for e in await recv_events(on_b, 5)] == ids
        assert [e["id"] for e in await recv_events(on_a, 5)] == ids


async def test_resume_on_another_process_than_the_one_left(server_factory, tmp_path, prefix) -> None:
    a, b = two_servers(server_factory, tmp_path, prefix)
    async with connect(a.ws("hft", after=0)) as ws:
        epoch = (await recv_ready(ws))["epoch"]
        first = publish(a, 3)
        seen = [e["id"] for e in await recv_events(ws, 3)]
    missed = publish(a, 4)
    async with connect(b.ws("hft", after=seen[-1], epoch=epoch)) as ws:
        assert (await recv_ready(ws))["resumed"] is True
        assert [e["id"] for e in await recv_events(ws, 4)] == missed
    assert seen == first


async def test_redis_losing_its_data_is_an_epoch_change(server_factory, tmp_path, prefix) -> None:
    a, _ = two_servers(server_factory, tmp_path, prefix)
    async with connect(a.ws("hft", after=0)) as ws:
        epoch = (await recv_ready(ws))["epoch"]
        publish(a, 1)
        (event,) = await recv_events(ws, 1)
        delete_keys(prefix)  # what a Redis without persistence does on restart
        with pytest.raises(ConnectionClosed) as closed:
            await recv_events(ws, 1)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    async with connect(a.ws("hft", after=event["id"], epoch=epoch)) as ws:
        ready = await recv_ready(ws)
        assert (ready["resumed"], ready["reason"]) == (False, "epoch_changed")
        assert ready["epoch"] != epoch
