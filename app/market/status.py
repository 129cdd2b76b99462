"""The market source's status as one typed value (`MarketStatus`), derived in one place and
announced on change.

    source     status while the feed runs it     when it stops
    off        off                                -
    simulated  live                               failed (error) / off
    replay     replay                             finished / failed (error) / off
    upstox     the feed's own (docs/upstox.md):   failed (error) / off
               connecting, live, market_closed, stalled, reconnecting, token_expired, no_token

`MarketStatusTracker` follows the MarketFeed's lifecycle and, while an Upstox source runs, that
source's `SourceState`; every listener gets the new value once per actual change (a new BarSet
alone, which moves `last_bar_close`, is not a change: clients see bars on their own frames).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from app.core.listeners import Listeners
from app.events import MarketGap, MarketSourceName, MarketStatus, MarketStatusName
from app.market.feed import BarSource, FeedState, MarketFeed
from app.market.replay import CandleReplay
from app.market.simulated import SimulatedMarket
from app.market.upstox.source import UpstoxBarSource
from app.market.upstox.state import SourceState

log = logging.getLogger(__name__)

StatusListener = Callable[[MarketStatus], None]
_RUNNING: dict[MarketSourceName, MarketStatusName] = {
    "simulated": "live",
    "replay": "replay",
    "upstox": "connecting",
    "off": "off",
}


def source_name(source: BarSource | None) -> MarketSourceName:
    if isinstance(source, UpstoxBarSource):
        return "upstox"
    if isinstance(source, CandleReplay):
        return "replay"
    if isinstance(source, SimulatedMarket):
        return "simulated"
    return "off"


class MarketStatusTracker:
    """The current `MarketStatus` of `feed`; `add_listener` is called on every change.

    :param wall: epoch seconds, for `since` of the statuses the feed's lifecycle decides.
    """

    def __init__(self, feed: MarketFeed, *, wall: Callable[[], float] = time.time) -> None:
        self.feed = feed
        self._wall = wall
        self._listeners: Listeners[MarketStatus] = Listeners("market status listener")
        self._source: BarSource | None = None
        self._detach: Callable[[], None] | None = None
        self._since = int(wall())
        feed.add_state_listener(self._on_feed_state)
        self._follow(feed.source)
        self._published = self._derive()

    @property
    def current(self) -> MarketStatus:
        """The status now (`last_bar_close` included, which alone is not announced)."""
        return self._derive()

    def add_listener(self, callback: StatusListener) -> Callable[[], None]:
        """Call `callback(status)` inline on every change; returns the function that removes it."""
        return self._listeners.add(callback)

    def _on_feed_state(self, state: FeedState) -> None:
        self._follow(self.feed.source)
        self._refresh()

    def _on_source_state(self, state: SourceState) -> None:
        self._refresh()

    def _follow(self, source: BarSource | None) -> None:
        """Listen to the Upstox source the feed runs now (and stop listening to an earlier one)."""
        if source is self._source:
            return
        if self._detach is not None:
            self._detach()
            self._detach = None
        self._source = source
        if isinstance(source, UpstoxBarSource):
            self._detach = source.add_state_listener(self._on_source_state)

    def _running_upstox(self) -> UpstoxBarSource | None:
        """The Upstox source the feed runs, whose own state is the status (its own `since` too)."""
        source = self.feed.source
        return source if self.feed.state is FeedState.RUNNING and isinstance(source, UpstoxBarSource) else None

    def _refresh(self) -> None:
        status = self._derive()
        if status.status != self._published.status and self._running_upstox() is None:
            self._since = int(self._wall())
            status = self._derive()
        if status.model_copy(update={"last_bar_close": None}) == self._published.model_copy(
            update={"last_bar_close": None}
        ):
            return
        self._published = status
        self._listeners(status)

    def _derive(self) -> MarketStatus:
        feed, source, upstox = self.feed, self.feed.source, self._running_upstox()
        if upstox is not None:
            return upstox_status(upstox.state)
        stopped = feed.state in (FeedState.IDLE, FeedState.CLOSED)
        name = "off" if stopped else source_name(source)
        status: MarketStatusName = "off" if stopped else _RUNNING[name]
        error = None
        if feed.state is FeedState.FINISHED:
            status = "finished"
        elif feed.state is FeedState.FAILED:
            status = "failed"
            error = f"{type(feed.error).__name__}: {feed.error}" if feed.error is not None else "the source failed"
        latest = feed.latest
        return MarketStatus(
            source=name,
            status=status,
            since=self._since,
            error=error,
            segment=None,
            gap=None,
            connections=0,
            last_bar_close=latest.close_ts if latest is not None and not stopped else None,
            token_expires_at=None,
            warning=None,
        )


def upstox_status(state: SourceState) -> MarketStatus:
    gap = state.gap
    return MarketStatus(
        source="upstox",
        status=state.status.value,
        since=int(state.since),
        error=state.error,
        segment=state.segment,
        gap=(
            MarketGap(
                first_open=gap.first_open,
                last_close=gap.last_close,
                minutes=gap.minutes,
                instruments=list(gap.instruments),
                reason=gap.reason,
            )
            if gap is not None
            else None
        ),
        connections=state.connections,
        last_bar_close=state.last_bar_close,
        token_expires_at=state.token_expires_at,
        warning=state.warning,
    )
