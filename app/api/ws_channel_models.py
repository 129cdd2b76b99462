"""The WebSocket contract in Pydantic: the envelope, every event payload, the control frames.

Binding source: docs/websocket-contracts.md. Field names, optionality and types are exactly
the spec's; where the spec leaves a type open (`id`, `pred_ret`, ...) the choice is
documented in docs/websocket-contracts.md ("Field types"). Producers are held to the
contract strictly (no coercion, no extra fields); readers (ws.ts) tolerate extra fields.

`CONTRACT` is the one registry channel -> type -> payload model. Everything else (the bus's
validation, the JSON Schema, the TypeScript types, the fixtures) is derived from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.bus.errors import InvalidEvent, Problem


def _is_none(value: object) -> bool:
    return value is None


_T = TypeVar("_T")

if TYPE_CHECKING:
    # What a reader of the model sees: the attribute is None when the field was left out.
    optional: TypeAlias = _T | None
else:

    class optional:
        """`optional[T]`: a field the spec marks `?`: may be absent (left out of the JSON), never `null`.

        The default None is not validated, so leaving the field out works while an explicit
        `null` from a producer fails validation like any other wrong type.
        """

        def __class_getitem__(cls, annotation: Any) -> Any:
            return Annotated[annotation, Field(default=None, exclude_if=_is_none)]


class Payload(BaseModel):
    """Base of every event payload: strict types, unknown fields refused, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


JsonObject = dict[str, Any]
EpochSeconds = Annotated[int, Field(ge=0, description="UTC epoch seconds")]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


# --- prediction ----------------------------------------------------------------------


class PredictorStart(Payload):
    instruments: list[str]
    cfg: JsonObject


class PredictorStop(Payload):
    pass


class PredictorError(Payload):
    error: str


class Calibration(Payload):
    """Calibration state of one (instrument, interval, horizon, model) after a resolution."""

    model_config = ConfigDict(extra="allow")

    n: Annotated[int, Field(ge=0)]
    bias: float
    mae: float
    rmse: float
    hit_rate: Fraction


class PredictionFields(Payload):
    """What identifies a prediction; shared by prediction.created and prediction.resolved."""

    id: int
    instrument_key: str
    interval: str
    horizon_steps: Annotated[int, Field(ge=1)]
    ts_pred: EpochSeconds
    ts_target: EpochSeconds


class PredictionCreated(PredictionFields):
    pred_ret: float
    pred_ret_adj: float
    calib_bias: float
    model_kind: str


class PredictionResolved(PredictionFields):
    actual_ret: float
    pred_ret_adj: float
    error: float
    calibration: Calibration


class PredictorCycle(Payload):
    created: Annotated[int, Field(ge=0)]
    resolved: Annotated[int, Field(ge=0)]
    anchor: EpochSeconds


# --- automation ----------------------------------------------------------------------


class AutomationRunStarted(Payload):
    job_id: str
    kind: str
    params: JsonObject


class AutomationRunUpdated(Payload):
    job_id: str
    progress: optional[Fraction]
    message: optional[str]
    status: optional[JobStatus]
    stats: optional[JsonObject]
    error: optional[str]


# --- training ------------------------------------------------------------------------


class TrainingStarted(Payload):
    job_id: str
    kind: str
    instrument_key: str
    interval: str


class TrainingProgress(Payload):
    job_id: str
    progress: Fraction
    message: str
    metrics: JsonObject


class TrainingSucceeded(Payload):
    job_id: str
    result: JsonObject


class TrainingFailed(Payload):
    job_id: str
    result: optional[JsonObject]
    error: optional[str]


# --- hft -----------------------------------------------------------------------------


class HftStart(Payload):
    broker: str
    safe_mode: bool
    live_trading_enabled: bool


class HftStop(Payload):
    pass


class HftBroker(Payload):
    broker: str


class HftError(Payload):
    error: str


class HftFlatten(Payload):
    closed: Annotated[int, Field(ge=0)]
    errors: list[str]


class HftEntry(Payload):
    trade_id: int
    instrument_key: str
    qty: Annotated[int, Field(description="shares; positive for a long, negative for a short")]
    entry: float


class HftExit(Payload):
    trade_id: int
    instrument_key: str
    price: float
    pnl: float
    reason: str


class HftTradeRisk(Payload):
    trade_id: int
    stop: float
    target: float


class HftManageError(Payload):
    error: str


CONTRACT: dict[str, dict[str, type[Payload]]] = {
    "prediction": {
        "predictor.start": PredictorStart,
        "predictor.stop": PredictorStop,
        "predictor.error": PredictorError,
        "prediction.created": PredictionCreated,
        "prediction.resolved": PredictionResolved,
        "predictor.cycle": PredictorCycle,
    },
    "automation": {
        "automation_run.started": AutomationRunStarted,
        "automation_run.updated": AutomationRunUpdated,
    },
    "training": {
        "training.started": TrainingStarted,
        "training.progress": TrainingProgress,
        "training.succeeded": TrainingSucceeded,
        "training.failed": TrainingFailed,
    },
    "hft": {
        "hft.start": HftStart,
        "hft.stop": HftStop,
        "hft.broker": HftBroker,
        "hft.error": HftError,
        "hft.flatten": HftFlatten,
        "hft.entry": HftEntry,
        "hft.exit": HftExit,
        "hft.trade_risk": HftTradeRisk,
        "hft.manage_error": HftManageError,
    },
}

CHANNELS: tuple[str, ...] = tuple(CONTRACT)
Channel = Literal["prediction", "automation", "training", "hft"]


# --- envelope and control frames -----------------------------------------------------


class Envelope(BaseModel):
    """The stable envelope of every frame. `id` is null on control frames."""

    model_config = ConfigDict(extra="forbid")

    id: int | None
    channel: str
    type: str
    payload: JsonObject
    ts: EpochSeconds


ResumeFailure = Literal["too_old", "epoch_changed", "ahead"]


class StreamReady(Payload):
    """First frame of every connection: where the stream starts and whether the resume held."""

    epoch: str
    head_id: Annotated[int, Field(ge=0)]
    resumed: bool
    reason: ResumeFailure | None
    heartbeat_interval: Annotated[float, Field(gt=0, description="seconds between heartbeats on an idle connection")]


class StreamHeartbeat(Payload):
    """Sent on a connection that has been idle for the heartbeat interval."""


CONTROL: dict[str, type[Payload]] = {
    "stream.ready": StreamReady,
    "stream.heartbeat": StreamHeartbeat,
}


# --- ephemeral streams (signaldesk extension) ------------------------------------------
#
# Streams that are not EventBus channels: frames are never stored, `id` is always null, there
# is no replay and no resume (`stream.ready` says `resumed: false`). They share the envelope,
# `stream.ready` and `stream.heartbeat`. Not part of CONTRACT: the bus refuses their types.


class MarketBar(Payload):
    """One instrument's bar in a market.bars frame (rupees; volume in shares)."""

    instrument_key: str
    open: float
    high: float
    low: float
    close: float
    volume: Annotated[float, Field(ge=0)]


class MarketBars(Payload):
    """Every instrument's bar that closed at one moment; instruments without a bar are left out."""

    interval: str
    ts: Annotated[EpochSeconds, Field(description="bar open, UTC epoch seconds")]
    close_ts: Annotated[EpochSeconds, Field(description="bar close, UTC epoch seconds")]
    bars: list[MarketBar]


EPHEMERAL: dict[str, dict[str, type[Payload]]] = {
    "market": {
        "market.bars": MarketBars,
    },
}


class ContractValidator:
    """Validates producer payloads against CONTRACT; plugs into the bus as its validator."""

    channels: tuple[str, ...] = CHANNELS

    def validate(self, channel: str, type: str, payload: object) -> JsonObject:
        types = CONTRACT.get(channel)
        if types is None:
            known = ", ".join(CHANNELS)
            raise InvalidEvent(channel, type, [Problem(("channel",), f"unknown channel; one of {known}")])
        model = types.get(type)
        if model is None:
            known = ", ".join(types)
            raise InvalidEvent(channel, type, [Problem(("type",), f"unknown type on {channel!r}; one of {known}")])
        try:
            return model.model_validate(payload).model_dump(mode="json")
        except ValidationError as e:
            problems = [Problem(("payload", *err["loc"]), err["msg"]) for err in e.errors(include_url=False)]
            raise InvalidEvent(channel, type, problems) from e
