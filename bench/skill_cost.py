"""What the skill gate costs (issue 19: at most 5% of the trade backtest's time and of the live
cycle's p99 at 500 instruments).

The gate's work is the engine's `SkillBook`: every resolution folded into its pair's window
(`on_resolved`), and for every prediction the pair's state read and its model noted
(`on_created`); the strategy's own check is one comparison. `TimedSkillBook` is that class with
a clock around each of those calls; the clock's own cost per call (the same wrapper around a
method that does nothing, measured in the same process: `clock_overhead_us`) is taken off. The
records are kept whether the gate is on or off (they are shown either way), so the time inside
them is what the gate adds to a run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import app.trading.engine
from app.events import Event, PredictionCreated, PredictionResolved
from app.predictor.skill import SkillBook, SkillConfig, SkillState


class TimedSkillBook(SkillBook):
    """A SkillBook that adds the time spent in it to `seconds` (one total for all instances)."""

    seconds = 0.0
    calls = 0

    def on_resolved(self, event: PredictionResolved) -> SkillState:
        started = time.perf_counter()
        try:
            return super().on_resolved(event)
        finally:
            TimedSkillBook.seconds += time.perf_counter() - started
            TimedSkillBook.calls += 1

    def on_created(self, event: PredictionCreated) -> SkillState:
        started = time.perf_counter()
        try:
            return super().on_created(event)
        finally:
            TimedSkillBook.seconds += time.perf_counter() - started
            TimedSkillBook.calls += 1


class _Nothing:
    def on_resolved(self) -> None:
        return None


class _TimedNothing(_Nothing):
    seconds = 0.0

    def on_resolved(self) -> None:
        started = time.perf_counter()
        try:
            return super().on_resolved()
        finally:
            _TimedNothing.seconds += time.perf_counter() - started


def clock_overhead(calls: int = 200_000) -> float:
    """Seconds the wrapper itself adds to one call (its clock, try/finally and super call)."""
    nothing, untimed = _TimedNothing(), _Nothing()
    _TimedNothing.seconds = 0.0
    for _ in range(calls):
        nothing.on_resolved()
    started = time.perf_counter()
    for _ in range(calls):
        untimed.on_resolved()
    bare = (time.perf_counter() - started) / calls  # the call the clock sits around is not its cost
    return max(0.0, _TimedNothing.seconds / calls - bare)


def net_seconds(gate: type[TimedSkillBook]) -> float:
    """The gate's seconds with the wrapper's own cost taken off."""
    return max(0.0, gate.seconds - gate.calls * clock_overhead())


@contextmanager
def timed_engines() -> Iterator[type[TimedSkillBook]]:
    """Trading engines built inside keep a TimedSkillBook; the class's totals after."""
    TimedSkillBook.seconds, TimedSkillBook.calls = 0.0, 0
    saved = app.trading.engine.SkillBook
    app.trading.engine.SkillBook = TimedSkillBook  # type: ignore[misc]
    try:
        yield TimedSkillBook
    finally:
        app.trading.engine.SkillBook = saved  # type: ignore[misc]


def per_cycle_ms(cycles: Sequence[Sequence[Event]], config: SkillConfig | None = None) -> list[float]:
    """The gate's work on each cycle's events, in ms, as the engine does it (a created
    prediction's model noted and state read, a resolution folded in), the cycle timed whole."""
    book = SkillBook(config or SkillConfig())
    out: list[float] = []
    for events in cycles:
        started = time.perf_counter()
        for event in events:
            if type(event) is PredictionResolved:
                book.on_resolved(event)
            elif type(event) is PredictionCreated:
                book.on_created(event)
        out.append((time.perf_counter() - started) * 1000)
    return out


def share(part: float, whole: float) -> dict[str, Any]:
    return {"pct": round(100 * part / whole, 2) if whole else None, "target_pct": 5.0}
