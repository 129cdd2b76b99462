"""What the Upstox source is doing, as one small immutable value (read `UpstoxBarSource.state`).

    status         meaning
    connecting     reading the token, authorizing, opening the feed, subscribing
    live           subscribed, and NSE_EQ is open (or its status is not known yet)
    market_closed  subscribed, and marketInfo.segmentStatus says NSE_EQ is not NORMAL_OPEN
    stalled        the watchdog gave up on a silent connection (then: reconnecting)
    reconnecting   waiting before the next attempt after a failure; `error` says which
    token_expired  Upstox answered 401 ("token expired or invalid"); retried with a re-read token
    no_token       the token cannot be read (the setting or file is named in `error`)

`token_expires_at` is the token's JWT `exp` (None when unreadable); `warning` says when it will
not last the coming NSE session (checked whenever the token is read: at start, every connect).
`gap` is the last span of minutes handed on incomplete because they could not be fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FeedStatus(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    MARKET_CLOSED = "market_closed"
    STALLED = "stalled"
    RECONNECTING = "reconnecting"
    TOKEN_EXPIRED = "token_expired"
    NO_TOKEN = "no_token"


@dataclass(frozen=True, slots=True)
class Gap:
    """Minutes [first_open, last_close) whose bars of `instruments` could not be fetched."""

    first_open: int
    last_close: int
    minutes: int
    instruments: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class SourceState:
    status: FeedStatus
    since: float  # wall-clock epoch s of the last status change
    error: str | None = None  # the last failure, kept until the source is live again
    segment: str | None = None  # NSE_EQ's marketInfo.segmentStatus, e.g. NORMAL_OPEN
    gap: Gap | None = None
    connections: int = 0  # feed connections opened so far
    last_bar_close: int | None = None  # close_ts of the last BarSet handed on
    token_expires_at: int | None = None  # the access token's JWT exp, when readable
    warning: str | None = None  # e.g. a token that expires before the coming session closes
