"""Answers computed in a worker process (app.jobs.worker): reports over a whole record that,
read and computed in the server's process, held its event loop for seconds (every stream, the
predictor's cycle and the trading engine waited). The work reads what it needs from the
database itself, by the URL it is given; only the answer comes back. At most
`AT_ONCE` run at a time per pool (each may hold a record's rows): more wait their turn.
"""

from __future__ import annotations

import asyncio
from typing import Any
from weakref import WeakKeyDictionary

from fastapi import HTTPException, status

from app.jobs.errors import JobError
from app.jobs.worker import WorkerPool

AT_ONCE = 2
_turns: WeakKeyDictionary[WorkerPool, asyncio.Semaphore] = WeakKeyDictionary()


async def computed_in_worker(workers: WorkerPool, work: str, *args: Any) -> Any:
    """`work(*args)` (an import string the worker resolves) in a worker process; a worker that
    failed or died answers 503 with the reason."""
    turn = _turns.setdefault(workers, asyncio.Semaphore(AT_ONCE))
    try:
        async with turn:
            return await workers.run(work, *args)
    except JobError as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"the answer's worker process failed: {e}") from None
