"""Frames that are not bus events: the control frames of every stream and the ephemeral
`market` stream (signaldesk extension).

Ephemeral streams are not EventBus channels: frames are never stored, `id` is always null,
there is no replay and no resume (`stream.ready` says `resumed: false`). They share the
envelope, `stream.ready` and `stream.heartbeat`. The bus refuses their types.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.events.payload import EpochSeconds, Payload

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
