"""Entries and exits that come close together go out as one message: a burst of fills (a
flatten, the square-off, several signals on one bar) is one alert, not a dozen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.notify.kinds import Alert, AlertKind

NOUNS = {AlertKind.ENTRY: ("entry", "entries"), AlertKind.EXIT: ("exit", "exits")}


class Batcher:
    """Collects alerts for `window` seconds from the first one, then hands `emit` one alert
    whose body has a line per alert (a lone alert is handed on unchanged)."""

    def __init__(self, window: float, emit: Callable[[Alert], None]) -> None:
        self.window = window
        self._emit = emit
        self._held: list[Alert] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, alert: Alert) -> None:
        self._held.append(alert)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.window, self.flush)

    def flush(self) -> None:
        """Hand on what is held now (at the window's end, and when the notifier stops)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        held, self._held = self._held, []
        if held:
            self._emit(merged(held))


def merged(alerts: list[Alert]) -> Alert:
    if len(alerts) == 1:
        return alerts[0]
    counts: dict[AlertKind, int] = {}
    for alert in alerts:
        counts[alert.kind] = counts.get(alert.kind, 0) + 1
    title = ", ".join(f"{n} {NOUNS[kind][n != 1] if kind in NOUNS else kind.value}" for kind, n in counts.items())
    return Alert(alerts[0].kind, title, "\n".join(a.body for a in alerts))
