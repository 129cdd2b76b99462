"""GET /api/events (POST answers the stored event: app.events.Envelope)."""

from __future__ import annotations

from pydantic import Field

from app.api.schemas.base import ResponseModel
from app.events import Envelope


class EventPage(ResponseModel):
    """A page of a channel's stored events; the answer itself is assembled from stored bytes."""

    epoch: str
    head_id: int
    floor: int = Field(description="highest id retention deleted from the channel; after < floor means a gap")
    events: list[Envelope]
