"""GET /api/candles, GET /api/candles/instruments, POST /api/candles/import."""

from __future__ import annotations

from app.api.schemas.base import ResponseModel


class CandleOut(ResponseModel):
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    oi: float | None


class CandlePage(ResponseModel):
    """Stored candles, oldest first; the answer itself is encoded straight from the stored arrays."""

    instrument_key: str
    interval: str
    candles: list[CandleOut]


class SeriesOut(ResponseModel):
    instrument_key: str
    interval: str
    first_ts: int
    last_ts: int
    count: int


class ImportOut(ResponseModel):
    instrument_key: str
    interval: str
    rows: int
    written: int  # new or changed
    unchanged: int
    first_ts: int | None
    last_ts: int | None
