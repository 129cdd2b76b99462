"""GET /api/health (open without a token: says only whether the server is up) and GET /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from app.api.security import require_token

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    epoch: str
    head_id: int
    subscribers: int
    leader: bool
    leader_token: int | None


@router.get("/api/health", response_model=Health)
async def read_health(request: Request) -> Health:
    bus = request.app.state.bus
    leadership = request.app.state.cluster.leadership
    return Health(
        status="ok",
        epoch=bus.epoch,
        head_id=bus.head_id,
        subscribers=len(request.app.state.streams),
        leader=leadership.is_leader,
        leader_token=leadership.token,
    )


@router.get("/metrics", dependencies=[Depends(require_token)], summary="Prometheus metrics")
async def read_metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
