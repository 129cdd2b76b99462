"""GET /api/health: open without a token, says only whether the server is up."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    epoch: str
    head_id: int
    subscribers: int


@router.get("/api/health", response_model=Health)
async def read_health(request: Request) -> Health:
    bus = request.app.state.bus
    return Health(status="ok", epoch=bus.epoch, head_id=bus.head_id, subscribers=len(request.app.state.streams))
