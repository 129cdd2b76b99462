"""A Subscriber that records what it is given, for tests of the bus itself."""

from __future__ import annotations

import asyncio

from app.bus.events import Batch
from app.bus.subscription import ResumeOutcome


class Recorder:
    def __init__(self) -> None:
        self.outcome: ResumeOutcome | None = None
        self.ids: list[int] = []
        self.was_lost = False
        self._changed = asyncio.Event()

    def ready(self, outcome: ResumeOutcome) -> None:
        assert self.outcome is None, "ready called twice"
        assert not self.ids, "ready after a batch"
        self.outcome = outcome

    def deliver(self, batch: Batch) -> None:
        assert self.outcome is not None, "batch before ready"
        self.ids.extend(e.id for e in batch.events)
        self._changed.set()

    async def drained(self) -> bool:
        await asyncio.sleep(0)
        return True

    def lost(self) -> None:
        self.was_lost = True
        self._changed.set()

    async def wait_for_id(self, id: int, timeout: float = 10.0) -> None:
        async def until() -> None:
            while not self.ids or self.ids[-1] < id:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout)
