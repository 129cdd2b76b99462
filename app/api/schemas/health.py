"""GET /api/health."""

from __future__ import annotations

from typing import Literal

from app.api.schemas.base import ResponseModel
from app.events import MarketSourceName, MarketStatusName


class HealthMarket(ResponseModel):
    """The market source and its status (details: GET /api/market, the market.status frame)."""

    source: MarketSourceName
    status: MarketStatusName


class Health(ResponseModel):
    status: Literal["ok", "degraded"]
    # why `degraded`: the event log's storage refused the last write (full, read-only,
    # failing); back to "ok" at the next write that succeeds
    reason: str | None = None
    epoch: str
    head_id: int
    subscribers: int
    leader: bool
    leader_token: int | None
    market: HealthMarket
