"""The two job families' events: typed objects of app.events, published with app.events.publish,
whose stored JSON is what the contract says (optional fields absent, never null)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.automation.events import AutomationEvents
from app.events import AutomationRunStarted, AutomationRunUpdated, ContractValidator, Event, TrainingFailed
from app.jobs.models import JobRecord
from app.jobs.status import JobStatus
from app.training.events import TrainingEvents


class Sink:
    """Records what is published and stores it as the bus would (the contract's validator)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str, Event]] = []

    async def publish_many(self, channel: str, events: Sequence[tuple[str, object]]) -> None:
        for type_, event in events:
            assert isinstance(event, Event), f"{type_} published as {type(event).__name__}"
            self.published.append((channel, type_, event))

    def stored(self) -> list[tuple[str, dict[str, Any]]]:
        validator = ContractValidator()
        return [(t, validator.validate(c, t, e)) for c, t, e in self.published]


def job(family: str, kind: str, **fields: Any) -> JobRecord:
    params = {"instrument_key": "NSE_EQ|X", "interval": "1m"} if family == "training" else {"days": 2}
    return JobRecord("j1", family, kind, params, JobStatus.QUEUED, 0.0, 60.0, 0.0, **fields)


async def test_automation_events_are_typed_and_leave_out_what_is_unset() -> None:
    sink = Sink()
    events = AutomationEvents(sink)
    record = job("automation", "backfill")
    await events.submitted(record)
    await events.started(record)
    record.progress, record.message = 0.5, "half"
    await events.progressed(record, {})
    record.status, record.error, record.progress = JobStatus.FAILED, "boom", 0.5
    await events.finished(record)
    assert [type(e) for _, _, e in sink.published] == [AutomationRunStarted, *[AutomationRunUpdated] * 3]
    assert [payload for _, payload in sink.stored()] == [
        {"job_id": "j1", "kind": "backfill", "params": {"days": 2}},
        {"job_id": "j1", "progress": 0.0, "status": "running"},
        {"job_id": "j1", "progress": 0.5, "message": "half"},
        {"job_id": "j1", "progress": 0.5, "message": "half", "status": "failed", "error": "boom"},
    ]


async def test_training_events_are_typed_and_leave_out_what_is_unset() -> None:
    sink = Sink()
    events = TrainingEvents(sink)
    record = job("training", "ridge")
    await events.submitted(record)  # the contract has no queued event
    await events.started(record)
    record.status, record.error = JobStatus.CANCELLED, "on request"
    await events.finished(record)
    record.result = {"samples": 3}
    await events.finished(record)
    assert [t for t, _ in sink.stored()] == ["training.started", "training.failed", "training.failed"]
    assert all(isinstance(e, TrainingFailed) for _, t, e in sink.published if t == "training.failed")
    assert [p for _, p in sink.stored()][1:] == [
        {"job_id": "j1", "error": "cancelled: on request"},
        {"job_id": "j1", "result": {"samples": 3}, "error": "cancelled: on request"},
    ]
