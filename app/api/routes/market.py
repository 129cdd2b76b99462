"""GET /api/market: the market feed's state, its source's status and its recent bars, as the
market stream's payloads (market.status, market.bars).

What a client loads before it follows /api/ws/market (which has no replay): the same
payloads the stream sends, oldest first, so one code path applies both.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.api.deps import MarketDep, MarketStatusDep
from app.api.schemas.errors import errors
from app.api.schemas.market import MarketOut
from app.api.security import require_token
from app.api.ws_market import market_payload

router = APIRouter(tags=["market"], dependencies=[Depends(require_token)], responses=errors(401))


@router.get(
    "/api/market",
    summary="The market feed: state, source status, interval, instruments and its recent bars",
    response_model=MarketOut,
)
async def read_market(
    feed: MarketDep,
    status: MarketStatusDep,
    limit: Annotated[int, Query(ge=0, le=10_000, description="the last `limit` moments of bars")] = 375,
) -> dict[str, Any]:
    interval = feed.interval
    return {
        "state": str(feed.state),
        "status": status.current,
        "interval": interval.name if interval is not None else None,
        "instruments": list(feed.instruments),
        "bars": [market_payload(bars) for bars in feed.recent(limit)] if limit else [],
    }
