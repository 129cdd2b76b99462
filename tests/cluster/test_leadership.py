"""Leader election on real Redis: one holder at a time, increasing fencing tokens, stepping down."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from app.cluster.leadership import Leadership
from app.cluster.lease import RedisLease
from tests.support.services import require_redis


class Duties:
    """Records the terms of office of one candidate."""

    def __init__(self) -> None:
        self.terms: list[int] = []
        self.elected = asyncio.Event()
        self.deposed = asyncio.Event()

    async def on_elected(self, token: int) -> None:
        self.terms.append(token)
        self.elected.set()

    async def on_deposed(self) -> None:
        self.deposed.set()


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix


def candidate(prefix: str, holder: str, ttl: float = 1.5) -> tuple[Leadership, Duties]:
    duties = Duties()
    lease = RedisLease(require_redis(), prefix=prefix, holder=holder, ttl=ttl)
    return Leadership(lease, on_elected=duties.on_elected, on_deposed=duties.on_deposed), duties


async def test_one_leader_and_the_next_takes_over_with_a_larger_token(prefix: str) -> None:
    a, a_duties = candidate(prefix, "a")
    b, b_duties = candidate(prefix, "b")
    await a.start()
    await b.start()
    assert (a.is_leader, b.is_leader) == (True, False)
    assert b_duties.terms == []
    await a.close()  # releases the lease at once
    await asyncio.wait_for(b_duties.elected.wait(), 5)
    assert a_duties.deposed.is_set() and not a.is_leader
    assert b.is_leader and b_duties.terms[0] > a_duties.terms[0]
    await b.close()


async def test_a_leader_that_lost_its_lease_steps_down(prefix: str) -> None:
    a, a_duties = candidate(prefix, "a")
    await a.start()
    assert a.is_leader
    a_duties.elected.clear()
    usurper = aioredis.from_url(require_redis())
    await usurper.set(f"{prefix}:leader", "someone-else")  # e.g. a's lease expired while it was stalled
    await asyncio.wait_for(a_duties.deposed.wait(), 5)
    assert not a.is_leader and a.token is None
    await usurper.delete(f"{prefix}:leader")
    await asyncio.wait_for(a_duties.elected.wait(), 5)  # and campaigns again
    assert a_duties.terms[1] > a_duties.terms[0]
    await usurper.aclose()
    await a.close()


class CuttableProxy:
    """A TCP proxy to Redis that can be cut, as a network partition would."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.pipes: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", 0)
        return f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/0"

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 6379)
        self.pipes += [writer, up_writer]

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                dst.write(data)
            dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer), return_exceptions=True)

    def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.pipes:
            writer.transport.abort()


async def test_a_leader_cut_off_from_redis_steps_down_before_its_lease_ends(prefix: str) -> None:
    proxy = CuttableProxy()
    duties = Duties()
    lease = RedisLease(await proxy.start(), prefix=prefix, holder="a", ttl=1.5)
    a = Leadership(lease, on_elected=duties.on_elected, on_deposed=duties.on_deposed)
    await a.start()
    assert a.is_leader
    proxy.cut()
    await asyncio.wait_for(duties.deposed.wait(), 5)
    client = aioredis.from_url(require_redis())
    ttl_ms = await client.pttl(f"{prefix}:leader")
    await client.aclose()
    assert ttl_ms > 0, "a must have stepped down while its lease still ran in Redis"
    await a.close()
