"""Leader election: exactly one process of a cluster runs the single-instance duties.

A process campaigns for its `Lease`; while it holds it, it runs its duties (`on_elected`:
the predictor, the trading engine's recovery, the scheduler); when it loses it, it stops them
(`on_deposed`) before anybody else can be elected.

Timing, for a lease of T seconds (default 5): candidates try every T/3; the leader renews
every T/3. A leader whose last successful renewal is older than 2T/3 steps down on its own,
even while Redis does not answer, so it has stopped trading before Redis expires its lease at
T and another process can take over. When a leader dies, the lease lapses after at most T and
the next candidate's attempt (at most T/3 later) elects it: takeover within 4T/3 (about 7 s
by default), after which the new leader reloads the open trades and predictions from the
shared database and reconciles them with the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable

from app.cluster.lease import Lease

log = logging.getLogger(__name__)

OnElected = Callable[[int], Awaitable[None]]
OnDeposed = Callable[[], Awaitable[None]]


class Leadership:
    """Campaigns for `lease` and runs `on_elected(token)` / `on_deposed()` as it wins or loses it."""

    def __init__(self, lease: Lease, *, on_elected: OnElected, on_deposed: OnDeposed) -> None:
        self.lease = lease
        self.token: int | None = None
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._valid_until = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        return self.token is not None

    async def start(self) -> None:
        """One campaign now (so a lone server is leader before it serves), then keep at it."""
        await self._campaign()
        if not math.isinf(self.lease.ttl):
            self._task = asyncio.create_task(self._run(), name="leadership")

    async def close(self) -> None:
        """At shutdown: stop campaigning, stop the duties and hand the lease over at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.is_leader:
            await self._step_down("the server is shutting down")
            with contextlib.suppress(Exception):
                await self.lease.release()
        await self.lease.close()

    async def _run(self) -> None:
        period = self.lease.ttl / 3
        while True:
            await asyncio.sleep(period)
            if self.is_leader:
                await self._keep()
            else:
                await self._campaign()

    async def _campaign(self) -> None:
        started = time.monotonic()
        try:
            token = await self.lease.acquire()
        except Exception as e:  # Redis away: stay a follower and try again next period
            log.warning("leader election: could not reach the lease (%s)", e)
            return
        if token is None:
            return
        self._valid_until = started + self.lease.ttl * 2 / 3
        self.token = token
        log.info("elected leader", extra={"holder": self.lease.holder, "token": token})
        try:
            await self._on_elected(token)
        except Exception:
            log.exception("the leader's duties failed to start: giving the lease up")
            await self._step_down("its duties failed to start")
            with contextlib.suppress(Exception):
                await self.lease.release()

    async def _keep(self) -> None:
        started = time.monotonic()
        try:
            held = await asyncio.wait_for(self.lease.renew(), max(0.0, self._valid_until - started))
        except Exception as e:  # includes the timeout: we cannot know that we still hold it
            if time.monotonic() < self._valid_until:
                log.warning("leader lease renewal failed (%s); retrying", e)
                return
            await self._step_down(f"the lease could not be renewed in time ({type(e).__name__}: {e})")
            return
        if held:
            self._valid_until = started + self.lease.ttl * 2 / 3
        else:
            await self._step_down("another process holds the lease")

    async def _step_down(self, why: str) -> None:
        log.warning("stepping down as leader: %s", why, extra={"token": self.token})
        self.token = None
        try:
            await self._on_deposed()
        except Exception:
            log.exception("stopping the leader's duties failed")
