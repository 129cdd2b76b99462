"""WebSocket close codes (docs/websocket-contracts.md, "Close codes")."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    UNSUPPORTED_DATA = 1003  # the client sent a data frame; streams accept none
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012  # uvicorn closes open streams with it on shutdown
    TRY_AGAIN_LATER = 1013  # the process holds SIGNALDESK_WS_MAX_CONNECTIONS streams already
    BAD_REQUEST = 4400  # malformed after/epoch
    UNAUTHORIZED = 4401
    FORBIDDEN_ORIGIN = 4403
    UNKNOWN_CHANNEL = 4404
    SLOW_CONSUMER = 4500  # reconnect and resume: nothing is lost

    @property
    def terminal(self) -> bool:
        """True when reconnecting cannot help; the client must change something first."""
        return 4400 <= self < 4500 or self in (CloseCode.UNSUPPORTED_DATA, CloseCode.MESSAGE_TOO_BIG)
