"""The market feed's status as alerts: the feed lost and back (`feed`), the Upstox access token
expiring or expired (`token`). Each episode is told once, however many statuses it passes."""

from __future__ import annotations

from app.events import MarketStatus
from app.notify.kinds import Alert, AlertKind

STREAMING = frozenset({"live", "market_closed", "replay"})
LOST = frozenset({"reconnecting", "stalled", "failed"})
TOKEN = frozenset({"token_expired", "no_token"})
RENEW = "renew it: signaldesk upstox login"


class MarketAlerts:
    def __init__(self) -> None:
        self._lost = False
        self._token_told: str | None = None  # the token status or warning told last
        self._warning: str | None = None

    def alerts(self, status: MarketStatus) -> list[Alert]:
        """The alerts of one status change (MarketStatusTracker calls its listeners once per change)."""
        return [a for a in (self._feed(status), self._token(status)) if a is not None]

    def _feed(self, status: MarketStatus) -> Alert | None:
        if status.status in STREAMING and self._lost:
            self._lost = False
            return Alert(
                AlertKind.FEED, "market feed reconnected", f"the {status.source} feed is {status.status}", "success"
            )
        if (status.status in LOST or status.status in TOKEN) and not self._lost:
            self._lost = True
            if status.status in TOKEN:
                return None  # told as a token alert
            return Alert(
                AlertKind.FEED,
                "market feed disconnected",
                f"the {status.source} feed is {status.status}: {status.error or 'no error given'}",
                "failure",
            )
        return None

    def _token(self, status: MarketStatus) -> Alert | None:
        if status.status in STREAMING:
            self._token_told = None
        if status.status in TOKEN:
            self._warning = status.warning  # an expired token's warning is no news of its own
            if self._token_told == status.status:
                return None
            self._token_told = status.status
            what = "expired" if status.status == "token_expired" else "missing"
            return Alert(
                AlertKind.TOKEN,
                f"Upstox access token {what}",
                f"{status.error or status.warning or what}; the feed gets no prices until it is renewed ({RENEW})",
                "failure",
            )
        if status.warning is not None and status.warning != self._warning:
            self._warning = status.warning
            return Alert(AlertKind.TOKEN, "Upstox access token expiring", status.warning, "warning")
        if status.warning is None:
            self._warning = None
        return None
