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


MarketStatusName = Literal[
    "off",
    "live",
    "replay",
    "finished",
    "failed",
    "connecting",
    "market_closed",
    "stalled",
    "reconnecting",
    "token_expired",
    "no_token",
]
MarketSourceName = Literal["off", "simulated", "replay", "upstox"]


class MarketGap(Payload):
    """Minutes [first_open, last_close) handed on without the bars of `instruments` (not fetchable)."""

    first_open: EpochSeconds
    last_close: EpochSeconds
    minutes: Annotated[int, Field(ge=1)]
    instruments: list[str]
    reason: str


class MarketStatus(Payload):
    """What the market source is doing (signaldesk extension): sent on connect and on every change."""

    source: Annotated[MarketSourceName, Field(description="the market source of SIGNALDESK_MARKET_SOURCE")]
    status: Annotated[
        MarketStatusName,
        Field(description="off, live, replay, finished, failed; the Upstox feed's own statuses (docs/upstox.md)"),
    ]
    since: Annotated[EpochSeconds, Field(description="wall-clock UTC epoch seconds of the last status change")]
    error: Annotated[str | None, Field(description="the last failure, kept until the source is live again")]
    segment: Annotated[str | None, Field(description="Upstox's NSE_EQ segment status, e.g. NORMAL_OPEN")]
    gap: Annotated[MarketGap | None, Field(description="the last span of minutes that could not be fetched")]
    connections: Annotated[int, Field(ge=0, description="feed connections opened so far (Upstox)")]
    last_bar_close: Annotated[EpochSeconds | None, Field(description="close of the last bars handed on")]
    token_expires_at: Annotated[
        EpochSeconds | None, Field(description="the Upstox access token's expiry (its JWT exp), when readable")
    ]
    warning: Annotated[str | None, Field(description="e.g. a token that will not last the coming session")]
