"""The `prediction` channel: the predictor's run, its forecasts and their outcomes."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field

from app.events.payload import EpochSeconds, Event, Fraction, JsonObject, Payload


class PredictionEvent(Event):
    channel: ClassVar[str] = "prediction"


class PredictorEvent(PredictionEvent):
    """The predictor's own state: only the predictor publishes it. Forecasts (prediction.*) may
    also come from a model of your own, through POST /api/events."""

    client_publishable: ClassVar[bool] = False


class PredictorStart(PredictorEvent):
    event_type: ClassVar[str] = "predictor.start"

    instruments: list[str]
    cfg: JsonObject


class PredictorStop(PredictorEvent):
    event_type: ClassVar[str] = "predictor.stop"


class PredictorError(PredictorEvent):
    event_type: ClassVar[str] = "predictor.error"

    error: str


class Calibration(Payload):
    """Calibration state of one (instrument, interval, horizon, model) after a resolution."""

    model_config = ConfigDict(extra="allow")

    n: Annotated[int, Field(ge=0)]
    bias: float
    mae: float
    rmse: float
    hit_rate: Fraction


class PredictionFields(PredictionEvent):
    """What identifies a prediction; shared by prediction.created and prediction.resolved."""

    id: int
    instrument_key: str
    interval: str
    horizon_steps: Annotated[int, Field(ge=1)]
    ts_pred: EpochSeconds
    ts_target: EpochSeconds


class PredictionCreated(PredictionFields):
    event_type: ClassVar[str] = "prediction.created"

    pred_ret: float
    pred_ret_adj: float
    calib_bias: float
    model_kind: str


class PredictionResolved(PredictionFields):
    event_type: ClassVar[str] = "prediction.resolved"

    actual_ret: float
    pred_ret_adj: float
    error: float
    calibration: Calibration


class PredictorCycle(PredictorEvent):
    event_type: ClassVar[str] = "predictor.cycle"

    created: Annotated[int, Field(ge=0)]
    resolved: Annotated[int, Field(ge=0)]
    anchor: EpochSeconds
