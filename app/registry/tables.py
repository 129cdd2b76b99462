"""The model registry's rows: one per trained model, and the promoted model per (instrument, interval)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.storage.base import Base


class ModelRow(Base):
    __tablename__ = "models"
    __table_args__ = (Index("ix_models_instrument_interval", "instrument_key", "interval", "created_ts"),)

    model_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    instrument_key: Mapped[str] = mapped_column(String(64))
    interval: Mapped[str] = mapped_column(String(8))
    horizons: Mapped[list[int]] = mapped_column(JSON)
    trained_from: Mapped[int] = mapped_column(BigInteger, comment="first bar open used, UTC epoch s")
    trained_to: Mapped[int] = mapped_column(BigInteger, comment="last bar open used, UTC epoch s")
    samples: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    feature_spec: Mapped[str] = mapped_column(String(32), comment="hash of the feature definition")
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_ts: Mapped[float] = mapped_column(Float)
    promoted_ts: Mapped[float | None] = mapped_column(Float, nullable=True, comment="when it was promoted, if ever")
    decision: Mapped[str | None] = mapped_column(Text, nullable=True, comment="why it was or was not promoted")


class PromotionRow(Base):
    """The model the predictor uses for one (instrument, interval)."""

    __tablename__ = "promotions"

    instrument_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    interval: Mapped[str] = mapped_column(String(8), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(32))
    promoted_ts: Mapped[float] = mapped_column(Float)
