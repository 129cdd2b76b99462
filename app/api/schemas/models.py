"""GET /api/models and /api/models/{model_id}: the model registry's rows."""

from __future__ import annotations

from typing import Any

from app.api.schemas.base import ResponseModel


class TrainedRange(ResponseModel):
    start: int
    end: int


class ModelOut(ResponseModel):
    model_id: str
    kind: str
    model_kind: str
    instrument_key: str
    interval: str
    horizons: list[int]
    trained_range: TrainedRange
    samples: int
    metrics: dict[str, Any]
    params: dict[str, Any]
    feature_spec: str
    job_id: str | None
    created_ts: float
    promoted: bool
    promoted_ts: float | None
    decision: str | None


class ModelList(ResponseModel):
    models: list[ModelOut]
