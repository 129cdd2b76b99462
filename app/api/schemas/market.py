"""GET /api/market."""

from __future__ import annotations

from app.api.schemas.base import ResponseModel
from app.events import MarketBars


class MarketOut(ResponseModel):
    """The market feed's state and its recent bars, as the market stream's `market.bars` payloads."""

    state: str
    interval: str | None
    instruments: list[str]
    bars: list[MarketBars]
