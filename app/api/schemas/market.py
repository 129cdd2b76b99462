"""GET /api/market."""

from __future__ import annotations

from app.api.schemas.base import ResponseModel
from app.events import MarketBars, MarketStatus


class MarketOut(ResponseModel):
    """The market feed's state, its source's status (the market stream's `market.status` payload)
    and its recent bars (`market.bars` payloads)."""

    state: str
    status: MarketStatus
    interval: str | None
    instruments: list[str]
    bars: list[MarketBars]
