"""Ticks: each instrument's last trade, as a live source sees it between bar closes.

A source that can (Upstox's feed) hands the market feed one `LastTrades` mapping per message it
receives: instrument key -> that instrument's last trade in the message. A `LastTrade` is
anything with `ltp` (rupees) and `ltt` (the trade's time, epoch milliseconds; 0 when unknown):
Upstox's own `LTPC` protobuf messages are handed on as they are, so the feed's hot path reads
no field nobody needs and builds no object per tick; a listener reads the few it cares about.

Listeners are called inline on the source's task: they must not block, await or keep the
mapping (it is the source's, valid during the call only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable


class LastTrade(Protocol):
    @property
    def ltp(self) -> float: ...

    @property
    def ltt(self) -> int: ...


LastTrades = Mapping[str, LastTrade]
TickListener = Callable[[LastTrades], None]


@runtime_checkable
class TickSource(Protocol):
    """A bar source that also hands on ticks (`MarketFeed` passes them to its tick listeners)."""

    def add_tick_listener(self, callback: TickListener) -> Callable[[], None]: ...
