"""The predictor's routes: its status, stored predictions, calibration."""

from __future__ import annotations

from typing import Any, Literal

from app.api.schemas.base import EnumValue, ResponseModel
from app.predictor.service import PredictorState

PredictionStatus = Literal["open", "resolved", "expired"]


class PredictorStatusOut(ResponseModel):
    state: EnumValue[PredictorState]
    instruments: list[str]
    cfg: dict[str, Any]
    started_ts: int | None
    cycles: int
    last_anchor: int | None
    created: int
    resolved: int
    expired: int


class PredictionOut(ResponseModel):
    id: int
    instrument_key: str
    interval: str
    horizon_steps: int
    model_kind: str
    ts_pred: int
    ts_target: int
    close_pred: float
    pred_ret: float
    pred_ret_adj: float
    calib_bias: float
    status: PredictionStatus
    actual_ret: float | None
    error: float | None


class PredictionList(ResponseModel):
    predictions: list[PredictionOut]


class CalibrationOut(ResponseModel):
    instrument_key: str
    interval: str
    horizon_steps: int
    model_kind: str
    n: int
    bias: float
    mae: float
    rmse: float
    hit_rate: float
    updated_ts: int


class CalibrationList(ResponseModel):
    calibration: list[CalibrationOut]


class DecileOut(ResponseModel):
    decile: int
    n: int
    mean_pred: float
    mean_actual: float
    hit_rate: float


class EvaluationOut(ResponseModel):
    """The forecast evaluation of one (interval, model, horizon); docs/predictor.md defines each
    figure; null where there is too little to compute it."""

    interval: str
    model_kind: str
    horizon_steps: int
    n: int
    anchors: int
    ic_anchors: int
    ic_mean: float | None
    ic_std: float | None
    ic_ir: float | None
    rank_ic_mean: float | None
    rank_ic_std: float | None
    rank_ic_ir: float | None
    pooled_ic: float | None
    pooled_rank_ic: float | None
    dm_sq_stat: float | None
    dm_sq_p: float | None
    dm_abs_stat: float | None
    dm_abs_p: float | None
    mase_zero: float | None
    mase_persistence: float | None
    long_short_anchors: int
    long_short_gross: float | None
    long_short_net: float | None
    deciles: list[DecileOut]


class EvaluationList(ResponseModel):
    round_trip_cost: float
    evaluations: list[EvaluationOut]
