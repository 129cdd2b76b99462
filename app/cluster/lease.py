"""Leases: who may run the cluster's single-instance duties (predictor, trading engine, scheduler).

`RedisLease` is a Redis key set with NX and a time-to-live, holding the holder's id; each
acquisition also takes the next **fencing token** from a counter, so every term of office has a
number larger than all before it (recorded with the engine's state; a stale holder's token is
visibly older). Renewal and release are compare-and-set on the holder id (Lua), so a process
never extends or deletes a lease another process holds.

`SoleLease` is the embedded default: one process, always the holder.
"""

from __future__ import annotations

from typing import Protocol

import redis.asyncio as aioredis

ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false
"""

RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease(Protocol):
    holder: str
    ttl: float

    async def acquire(self) -> int | None:
        """Take the lease if it is free: the new fencing token, or None when someone holds it."""
        ...

    async def renew(self) -> bool:
        """Extend the lease by `ttl`; False when this process no longer holds it."""
        ...

    async def release(self) -> None:
        """Give the lease up now (at shutdown), so another process need not wait for the TTL."""
        ...

    async def close(self) -> None: ...


class SoleLease:
    """The single process of an embedded deployment: always the holder, token 1."""

    def __init__(self, holder: str) -> None:
        self.holder = holder
        self.ttl = float("inf")

    async def acquire(self) -> int | None:
        return 1

    async def renew(self) -> bool:
        return True

    async def release(self) -> None:
        pass

    async def close(self) -> None:
        pass


class RedisLease:
    """A lease in Redis under `{prefix}:leader` (holder id) and `{prefix}:leader:fence` (tokens)."""

    def __init__(self, url: str, *, prefix: str, holder: str, ttl: float) -> None:
        self.holder = holder
        self.ttl = ttl
        self._redis = aioredis.from_url(url)
        self._keys = [f"{prefix}:leader", f"{prefix}:leader:fence"]
        self._acquire = self._redis.register_script(ACQUIRE)
        self._renew = self._redis.register_script(RENEW)
        self._release = self._redis.register_script(RELEASE)

    @property
    def _ttl_ms(self) -> int:
        return max(1, int(self.ttl * 1000))

    async def acquire(self) -> int | None:
        token = await self._acquire(keys=self._keys, args=[self.holder, self._ttl_ms])
        return int(token) if token else None

    async def renew(self) -> bool:
        return bool(await self._renew(keys=self._keys[:1], args=[self.holder, self._ttl_ms]))

    async def release(self) -> None:
        await self._release(keys=self._keys[:1], args=[self.holder])

    async def holder_now(self) -> str | None:
        """Who holds the lease at this moment (None: nobody)."""
        value = await self._redis.get(self._keys[0])
        return value.decode() if value is not None else None

    async def close(self) -> None:
        await self._redis.aclose()
