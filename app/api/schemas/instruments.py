"""GET /api/instruments."""

from __future__ import annotations

from app.api.schemas.base import ResponseModel


class InstrumentOut(ResponseModel):
    """One instrument of Upstox's instrument master (`signaldesk instruments sync`)."""

    instrument_key: str
    trading_symbol: str
    name: str | None
    exchange: str
    segment: str
    instrument_type: str
    isin: str | None
    exchange_token: str | None
    tick_size: float | None  # rupees (Upstox's file has paise)
    lot_size: int | None
    freeze_quantity: float | None
    short_name: str | None
    security_type: str | None
    expiry: int | None  # UTC epoch seconds (Upstox's file has milliseconds)
    strike_price: float | None
    underlying_key: str | None


class InstrumentList(ResponseModel):
    """Matches, best first; `master_size` 0: no master is loaded (sync it)."""

    instruments: list[InstrumentOut]
    master_size: int
