"""Stored predictions and the calibration state they feed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.storage.base import Base


class Prediction(Base):
    """One forecast: made at ts_pred for ts_target, then resolved or expired."""

    __tablename__ = "predictions"
    __table_args__ = (
        Index("ix_predictions_ts_pred_instrument", "ts_pred", "instrument_key"),  # why: migration 0007
        Index("ix_predictions_status_ts_target", "status", "ts_target"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    instrument_key: Mapped[str] = mapped_column(String(64))
    interval: Mapped[str] = mapped_column(String(8))
    horizon_steps: Mapped[int] = mapped_column(Integer)
    model_kind: Mapped[str] = mapped_column(String(64))
    ts_pred: Mapped[int] = mapped_column(BigInteger)
    ts_target: Mapped[int] = mapped_column(BigInteger)
    close_pred: Mapped[float] = mapped_column(Float)
    pred_ret: Mapped[float] = mapped_column(Float)
    pred_ret_adj: Mapped[float] = mapped_column(Float)
    calib_bias: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10), default="open", comment="open, resolved or expired")
    actual_ret: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[float | None] = mapped_column(Float, nullable=True)


class CalibrationState(Base):
    """The EW sums of app.predictor.calibration for one (instrument, interval, horizon, model)."""

    __tablename__ = "calibration"

    instrument_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    interval: Mapped[str] = mapped_column(String(8), primary_key=True)
    horizon_steps: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    weight: Mapped[float] = mapped_column(Float)
    s_residual: Mapped[float] = mapped_column(Float)
    s_abs: Mapped[float] = mapped_column(Float)
    s_sq: Mapped[float] = mapped_column(Float)
    s_hit: Mapped[float] = mapped_column(Float)
    updated_ts: Mapped[int] = mapped_column(BigInteger)


class PredictorRun(Base):
    """The predictor's run while it is on (one row; none when stopped): what a restarted server
    or a newly elected leader resumes."""

    __tablename__ = "predictor_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    instruments: Mapped[list[str]] = mapped_column(JSON)
    cfg: Mapped[dict[str, Any]] = mapped_column(JSON)
    started_ts: Mapped[int] = mapped_column(BigInteger)
