"""The events of every stream as typed objects: payload models, the registry, the validator.

A low package: any domain may import it (it depends only on app.bus's stored-event types and
errors). `app/api/ws_channel_models.py` re-exports it as the contract's public face.
"""

from app.events.hft import (
    HftBroker,
    HftEntry,
    HftError,
    HftEvent,
    HftExit,
    HftFlatten,
    HftManageError,
    HftStart,
    HftState,
    HftStop,
    HftTradeRisk,
)
from app.events.jobs import (
    AutomationEvent,
    AutomationRunStarted,
    AutomationRunUpdated,
    TrainingEvent,
    TrainingFailed,
    TrainingProgress,
    TrainingStarted,
    TrainingSucceeded,
)
from app.events.payload import EpochSeconds, Event, Fraction, JobStatus, JsonObject, Payload, optional
from app.events.prediction import (
    Calibration,
    PredictionCreated,
    PredictionEvent,
    PredictionFields,
    PredictionResolved,
    PredictorCycle,
    PredictorError,
    PredictorStart,
    PredictorStop,
)
from app.events.publish import EventSink, decode, publish
from app.events.registry import CHANNELS, CONTRACT, CONTROL, EPHEMERAL, Channel, Envelope
from app.events.streams import MarketBar, MarketBars, ResumeFailure, StreamHeartbeat, StreamReady
from app.events.validator import ContractValidator

__all__ = [
    "CHANNELS",
    "CONTRACT",
    "CONTROL",
    "EPHEMERAL",
    "AutomationEvent",
    "AutomationRunStarted",
    "AutomationRunUpdated",
    "Calibration",
    "Channel",
    "ContractValidator",
    "Envelope",
    "EpochSeconds",
    "Event",
    "EventSink",
    "Fraction",
    "HftBroker",
    "HftEntry",
    "HftError",
    "HftEvent",
    "HftExit",
    "HftFlatten",
    "HftManageError",
    "HftStart",
    "HftState",
    "HftStop",
    "HftTradeRisk",
    "JobStatus",
    "JsonObject",
    "MarketBar",
    "MarketBars",
    "Payload",
    "PredictionCreated",
    "PredictionEvent",
    "PredictionFields",
    "PredictionResolved",
    "PredictorCycle",
    "PredictorError",
    "PredictorStart",
    "PredictorStop",
    "ResumeFailure",
    "StreamHeartbeat",
    "StreamReady",
    "TrainingEvent",
    "TrainingFailed",
    "TrainingProgress",
    "TrainingStarted",
    "TrainingSucceeded",
    "decode",
    "optional",
    "publish",
]
