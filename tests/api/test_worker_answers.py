"""Answers computed in worker processes (app.api.worker_answers): a bounded number at once, and a
worker that fails is a 503 naming why, not a 500."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import HTTPException

from app.api.worker_answers import AT_ONCE, computed_in_worker
from app.jobs.worker import WorkerPool

HELD = "tests.support.held:held"


async def test_at_most_at_once_answers_run_together_the_rest_wait_their_turn() -> None:
    workers = WorkerPool()
    spans = await asyncio.gather(*(computed_in_worker(workers, HELD, 0.4) for _ in range(AT_ONCE + 1)))
    for start, _ in spans:  # while one ran, at most AT_ONCE were running (itself included)
        assert sum(s <= start < e for s, e in spans) <= AT_ONCE, spans


async def test_a_failing_worker_answers_503_with_its_reason() -> None:
    with pytest.raises(HTTPException) as raised:
        await computed_in_worker(WorkerPool(), HELD, "not seconds")
    assert raised.value.status_code == 503
    assert "cannot be interpreted as an integer" in str(raised.value.detail)
