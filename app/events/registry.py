"""The one registry of the contract: channel -> event type -> payload model, and the envelope.

Everything else (the bus's validation, the JSON Schema, AsyncAPI, the TypeScript types, the
fixtures) is derived from CONTRACT, CONTROL and EPHEMERAL. The order here is the order of the
generated files.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.events import hft, jobs, prediction
from app.events.payload import EpochSeconds, Event, JsonObject, Payload
from app.events.streams import MarketBars, MarketStatus, StreamHeartbeat, StreamReady


def _by_channel(*models: type[Event]) -> dict[str, dict[str, type[Event]]]:
    contract: dict[str, dict[str, type[Event]]] = {}
    for model in models:
        types = contract.setdefault(model.channel, {})
        if model.event_type in types:
            raise ValueError(f"{model.event_type!r} is declared twice")
        types[model.event_type] = model
    return contract


CONTRACT: dict[str, dict[str, type[Event]]] = _by_channel(
    prediction.PredictorStart,
    prediction.PredictorStop,
    prediction.PredictorError,
    prediction.PredictionCreated,
    prediction.PredictionResolved,
    prediction.PredictorCycle,
    jobs.AutomationRunStarted,
    jobs.AutomationRunUpdated,
    jobs.TrainingStarted,
    jobs.TrainingProgress,
    jobs.TrainingSucceeded,
    jobs.TrainingFailed,
    hft.HftStart,
    hft.HftStop,
    hft.HftBroker,
    hft.HftError,
    hft.HftFlatten,
    hft.HftEntry,
    hft.HftExit,
    hft.HftTradeRisk,
    hft.HftManageError,
    hft.HftState,
)

CHANNELS: tuple[str, ...] = tuple(CONTRACT)
# The types only their service may publish (the trading engine's, the predictor's state).
SERVICE_OWNED: frozenset[str] = frozenset(
    type for types in CONTRACT.values() for type, model in types.items() if not model.client_publishable
)
Channel = Literal["prediction", "automation", "training", "hft"]

CONTROL: dict[str, type[Payload]] = {
    "stream.ready": StreamReady,
    "stream.heartbeat": StreamHeartbeat,
}

EPHEMERAL: dict[str, dict[str, type[Payload]]] = {
    "market": {
        "market.bars": MarketBars,
        "market.status": MarketStatus,
    },
}


class Envelope(BaseModel):
    """The stable envelope of every frame. `id` is null on control frames."""

    model_config = ConfigDict(extra="forbid")

    id: int | None
    channel: str
    type: str
    payload: JsonObject
    ts: EpochSeconds
