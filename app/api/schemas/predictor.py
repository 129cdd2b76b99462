"""The predictor's routes: its status, stored predictions, calibration."""

from __future__ import annotations

from typing import Any, Literal

from app.api.schemas.base import EnumValue, ResponseModel
from app.predictor.figures import Evaluation
from app.predictor.service import PredictorState
from app.predictor.skill import SkillState

PredictionStatus = Literal["open", "resolved", "expired"]


class SkillOut(ResponseModel):
    """One pair's skill (docs/predictor.md, Skill): the gate's state and its test's figures over
    the rolling window. `n_eff`, `hits_eff`: the counts the test uses (n // horizon_steps);
    `chance_rate`: the hit rate of an outcome-blind forecaster with the same calls; `p_value`:
    P(hits >= hits_eff) by chance (null while untested); `since`: ts of the resolution that set
    the state; `first_skilled`: when the pair first became tradable; `spells`: times it did."""

    instrument_key: str
    interval: str
    horizon_steps: int
    model_kind: str | None
    state: EnumValue[SkillState]
    n: int
    hits: int
    n_eff: int
    hits_eff: int
    hit_rate: float | None
    chance_rate: float
    p_value: float | None
    since: int | None
    first_skilled: int | None
    spells: int
    skilled_resolutions: int


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
    skill: list[SkillOut]


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


class EvaluationList(ResponseModel):
    """Each Evaluation's figures (docs/predictor.md); null where there is too little to compute one."""

    round_trip_cost: float
    evaluations: list[Evaluation]
