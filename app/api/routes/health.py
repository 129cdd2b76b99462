"""GET /api/health (open without a token: whether the server is up, and its market source's status
(no error text: that is GET /api/market's, behind the token)) and GET /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.deps import ServicesDep
from app.api.schemas.errors import errors
from app.api.schemas.health import Health, HealthMarket
from app.api.security import require_token

router = APIRouter(tags=["health"])


@router.get(
    "/api/health",
    summary="Whether the server is up, whether it leads the cluster, and its market source's status",
    response_model=Health,
)
async def read_health(services: ServicesDep) -> Health:
    bus = services.bus
    leadership = services.cluster.leadership
    market = services.market_status.current
    fault = bus.storage_fault
    return Health(
        status="ok" if fault is None else "degraded",
        reason=None if fault is None else f"events cannot be stored in {services.settings.data_dir}: {fault}",
        epoch=bus.epoch,
        head_id=bus.head_id,
        subscribers=len(services.streams),
        leader=leadership.is_leader,
        leader_token=leadership.token,
        market=HealthMarket(source=market.source, status=market.status),
    )


@router.get(
    "/metrics",
    dependencies=[Depends(require_token)],
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}, **errors(401)},
)
async def read_metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
