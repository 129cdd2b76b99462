"""The instrument master: one row per instrument of the last synced Upstox instrument file."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.storage.base import Base


class Instrument(Base):
    __tablename__ = "instruments"

    instrument_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    trading_symbol: Mapped[str] = mapped_column(String(128))
    symbol_upper: Mapped[str] = mapped_column(String(128), index=True, comment="upper(trading_symbol), for lookups")
    name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    exchange: Mapped[str] = mapped_column(String(16))
    segment: Mapped[str] = mapped_column(String(24))
    instrument_type: Mapped[str] = mapped_column(String(24))
    isin: Mapped[str | None] = mapped_column(String(16), nullable=True)
    exchange_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tick_size: Mapped[float | None] = mapped_column(Float, nullable=True, comment="rupees (the file's paise / 100)")
    lot_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    freeze_quantity: Mapped[float | None] = mapped_column(Float, nullable=True)
    short_name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    security_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    expiry: Mapped[int | None] = mapped_column(BigInteger, nullable=True, comment="UTC epoch seconds")
    strike_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    underlying_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
