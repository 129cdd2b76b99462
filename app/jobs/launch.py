"""Where jobs run: the one interface the runner calls, with two implementations, the local
launcher (local.py: asyncio tasks and worker processes here) and the queue launcher
(distributed.py: arq on Redis, run by `signaldesk worker`s)."""

from __future__ import annotations

import asyncio
from typing import Protocol

from pydantic import BaseModel

from app.jobs.kinds import JobKind
from app.jobs.models import JobRecord


class Launcher(Protocol):
    where: str
    """Who runs the jobs of this process, as its interruption messages name it ("the server")."""

    async def start(self) -> list[JobRecord]:
        """Open (on the first call) and end what stopped processes left (each call): `recover`."""
        ...

    async def recover(self) -> list[JobRecord]:
        """End as failed, and say so, every job a stopped process left queued or running."""
        ...

    async def launch(self, record: JobRecord, kind: JobKind, params: BaseModel) -> JobRecord:
        """Start a new (stored, queued) job: here, or hand it to whoever runs it."""
        ...

    async def run_here(self, record: JobRecord, kind: JobKind, params: BaseModel) -> asyncio.Future[JobRecord]:
        """Run the job in this process; the future of its final record."""
        ...

    async def cancel_elsewhere(self, record: JobRecord, reason: str) -> JobRecord:
        """Cancel an unfinished job this process does not run."""
        ...

    async def close(self) -> None:
        """End every job this process runs (failed, saying it shut down) and let go of the rest."""
        ...
