"""The broker's own kill switch: a backstop behind the engine's halt, engaged only on request.

`POST /api/hft/halt {"broker_kill_switch": true}` (and `signaldesk hft halt --broker-kill-switch`)
halts the engine, flattens every open trade, and then, once the engine holds nothing, asks the
broker to stop all trading in the segments of the engine's universe (Upstox: `POST
/v2/user/kill-switch`, each segment `DISABLE`d; it cancels the segment's open orders and blocks
new ones for at least 12 hours, and refuses while a position is open, hence the flatten first).
A venue without one (the paper broker: every safe-mode run) is refused before anything changes.
What is engaged is shown in `GET /api/hft/status` (`broker_kill_switch`): set by the halt, and
read from the broker whenever a run starts on it (the switch outlives our restarts; `at` is
then unknown unless this server engaged it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class BrokerKillSwitch:
    """What this server engaged at the broker: when (epoch s) and for which segments."""

    engaged: bool = False
    at: int | None = None
    segments: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        return {"engaged": self.engaged, "at": self.at, "segments": list(self.segments)}


def segments_of(instruments: Iterable[str]) -> tuple[str, ...]:
    """The exchange segments of instrument keys (`NSE_EQ|INE002A01018` -> `NSE_EQ`), sorted."""
    return tuple(sorted({key.split("|", 1)[0] for key in instruments}))
