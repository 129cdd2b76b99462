"""The trading engine's tables: its state, trades, orders, and the paper broker's ledger."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.storage.base import Base


class EngineRow(Base):
    """The engine's lifecycle state (one row): what a restart resumes."""

    __tablename__ = "hft_engine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(10), comment="stopped, running or halted")
    broker: Mapped[str] = mapped_column(String(32))
    safe_mode: Mapped[bool] = mapped_column(Boolean)
    halted_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    limits: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_ts: Mapped[int] = mapped_column(BigInteger)


class TradeRow(Base):
    """One trade; see app.trading.trades.Trade for every field."""

    __tablename__ = "hft_trades"
    __table_args__ = (Index("ix_hft_trades_status", "status"), Index("ix_hft_trades_day", "day"))

    trade_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    instrument_key: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(BigInteger, comment="signed shares: positive long, negative short")
    open_qty: Mapped[int] = mapped_column(BigInteger)
    entry: Mapped[float] = mapped_column(Float)
    entry_ts: Mapped[int] = mapped_column(BigInteger)
    entry_charges: Mapped[float] = mapped_column(Float)
    stop: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    stop_distance: Mapped[float] = mapped_column(Float)
    best: Mapped[float] = mapped_column(Float)
    exit_by: Mapped[int] = mapped_column(BigInteger)
    horizon_steps: Mapped[int] = mapped_column(Integer)
    prediction_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    pred_ret_adj: Mapped[float] = mapped_column(Float)
    venue: Mapped[str] = mapped_column(String(32))
    day: Mapped[str] = mapped_column(String(10), comment="IST date of the entry")
    status: Mapped[str] = mapped_column(String(10), comment="open or closed")
    exit_pending: Mapped[str | None] = mapped_column(String(16), nullable=True)
    exit_filled: Mapped[int] = mapped_column(BigInteger)
    exit_value: Mapped[float] = mapped_column(Float)
    exit_charges: Mapped[float] = mapped_column(Float)
    gross: Mapped[float] = mapped_column(Float)
    exit_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    exit_ts: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    exit_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    pnl: Mapped[float | None] = mapped_column(Float, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class OrderRow(Base):
    """One order sent to a broker (orders the risk gate denied are counted, not stored)."""

    __tablename__ = "hft_orders"
    __table_args__ = (Index("ix_hft_orders_trade_id", "trade_id"),)

    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    trade_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, comment="none: a reconciliation order")
    venue: Mapped[str] = mapped_column(String(32))
    instrument_key: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    qty: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(8), comment="entry or exit")
    reason: Mapped[str] = mapped_column(String(16))
    price: Mapped[float] = mapped_column(Float, comment="the market price when it was decided")
    ts: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    filled_qty: Mapped[int] = mapped_column(BigInteger)
    fill_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    charges: Mapped[float] = mapped_column(Float)
    broker_charges: Mapped[float | None] = mapped_column(
        Float, nullable=True, comment="the broker's own figure, fetched after the fill; none: not known"
    )
    broker_order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class PaperAccountRow(Base):
    """The paper broker's money (one row per paper account)."""

    __tablename__ = "hft_paper_account"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    capital: Mapped[float] = mapped_column(Float)
    realized: Mapped[float] = mapped_column(Float)
    charges: Mapped[float] = mapped_column(Float)
    next_order: Mapped[int] = mapped_column(BigInteger)


class PaperPositionRow(Base):
    """The paper broker's net position per instrument (a flat one has qty 0)."""

    __tablename__ = "hft_paper_positions"

    instrument_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    qty: Mapped[int] = mapped_column(BigInteger)
    avg_price: Mapped[float] = mapped_column(Float)


JOURNAL_TABLES: dict[str, Table] = {
    row.__tablename__: row.__table__  # type: ignore[misc]
    for row in (EngineRow, TradeRow, OrderRow, PaperAccountRow, PaperPositionRow)
}
