"""This process's place in the cluster: its leadership and, on Redis, the leader-route relay."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from typing import Protocol

from app.cluster.leadership import Leadership
from app.cluster.lease import Lease, RedisLease, SoleLease
from app.cluster.relay import Answer, LeaderRelay
from app.core.config import Settings


class Duties(Protocol):
    async def on_elected(self, token: int) -> None: ...

    async def on_deposed(self) -> None: ...


class ClusterNode:
    def __init__(self, leadership: Leadership, relay: LeaderRelay | None) -> None:
        self.leadership = leadership
        self.relay = relay
        self._serving: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        return self.leadership.is_leader

    def serve_relayed(self, answer: Answer) -> None:
        """As leader: answer the leader routes the other processes relay."""
        if self.relay is not None and self._serving is None:
            self._serving = asyncio.create_task(self.relay.serve(answer), name="leader-relay")

    async def stop_serving_relayed(self) -> None:
        task, self._serving = self._serving, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        await self.leadership.close()
        await self.stop_serving_relayed()
        if self.relay is not None:
            await self.relay.close()


def build_cluster(settings: Settings, duties: Duties) -> ClusterNode:
    """Alone with the embedded bus; with the Redis bus, one of a cluster sharing its prefix."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    lease: Lease
    relay = None
    if settings.bus_url is None:
        lease = SoleLease(holder)
    else:
        lease = RedisLease(settings.bus_url, prefix=settings.bus_prefix, holder=holder, ttl=settings.leader_lease_ttl)
        relay = LeaderRelay(settings.bus_url, prefix=settings.bus_prefix, timeout=settings.leader_relay_timeout)
    leadership = Leadership(lease, on_elected=duties.on_elected, on_deposed=duties.on_deposed)
    return ClusterNode(leadership, relay)
