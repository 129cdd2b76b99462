"""GET /api/health."""

from __future__ import annotations

from app.api.schemas.base import ResponseModel


class Health(ResponseModel):
    status: str
    epoch: str
    head_id: int
    subscribers: int
    leader: bool
    leader_token: int | None
