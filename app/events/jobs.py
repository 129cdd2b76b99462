"""The `automation` and `training` channels: the job system's two families."""

from __future__ import annotations

from typing import ClassVar

from app.events.payload import Event, Fraction, JobStatus, JsonObject, optional

# --- automation ------------------------------------------------------------------------


class AutomationEvent(Event):
    channel: ClassVar[str] = "automation"


class AutomationRunStarted(AutomationEvent):
    event_type: ClassVar[str] = "automation_run.started"

    job_id: str
    kind: str
    params: JsonObject


class AutomationRunUpdated(AutomationEvent):
    event_type: ClassVar[str] = "automation_run.updated"

    job_id: str
    progress: optional[Fraction]
    message: optional[str]
    status: optional[JobStatus]
    stats: optional[JsonObject]
    error: optional[str]


# --- training --------------------------------------------------------------------------


class TrainingEvent(Event):
    channel: ClassVar[str] = "training"


class TrainingStarted(TrainingEvent):
    event_type: ClassVar[str] = "training.started"

    job_id: str
    kind: str
    instrument_key: str
    interval: str


class TrainingProgress(TrainingEvent):
    event_type: ClassVar[str] = "training.progress"

    job_id: str
    progress: Fraction
    message: str
    metrics: JsonObject


class TrainingSucceeded(TrainingEvent):
    event_type: ClassVar[str] = "training.succeeded"

    job_id: str
    result: JsonObject


class TrainingFailed(TrainingEvent):
    event_type: ClassVar[str] = "training.failed"

    job_id: str
    result: optional[JsonObject]
    error: optional[str]
