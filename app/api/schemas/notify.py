"""GET /api/notify/status."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.api.schemas.base import ResponseModel


class NotifyFailure(ResponseModel):
    """An alert given up on after every retry (or dropped from a full queue)."""

    kind: str
    title: str
    url: Annotated[str, Field(description="the notification URL, secrets masked")]
    reason: Annotated[str, Field(description="what the last try answered (apprise's message)")]
    ts: Annotated[int, Field(description="UTC epoch seconds")]


class NotifyDestination(ResponseModel):
    url: Annotated[str, Field(description="the notification URL, secrets masked")]
    sent: int
    failed: int
    retries: int
    pending: Annotated[int, Field(description="alerts waiting to be sent (or being sent) to this URL")]
    last_failure: NotifyFailure | None


class NotifyStatus(ResponseModel):
    configured: Annotated[bool, Field(description="SIGNALDESK_NOTIFY_URLS names at least one URL")]
    running: Annotated[bool, Field(description="sending now (on the cluster's leader, with URLs)")]
    kinds: Annotated[list[str], Field(description="the kinds sent (SIGNALDESK_NOTIFY_EVENTS)")]
    sent: int
    failed: int
    retries: int
    last_failure: NotifyFailure | None
    destinations: list[NotifyDestination]
