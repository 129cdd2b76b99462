"""What the skill gate costs (issue 19: at most 5% of the trade backtest's time and of the live
cycle's p99 at 500 instruments).

The gate's work is the engine's `SkillBook`: every resolution folded into its pair's window
(`on_resolved`; a trade backtest folds each pair's whole record at once, `fold`), and for every
prediction its model noted and the pair's state read (`on_created`; in a trade backtest the
state each prediction saw is looked up in columns, app.trading.judged_replay); the strategy's
own check is one comparison. The records are kept whether the
gate is on or off (they are shown either way), so that work is what the gate adds.

Trade backtest: the engine judges the replay's predictions whole (app.trading.judged_replay),
so the gate's work is one `fold` per pair's record, clocked (`TimedSkillBook`), plus looking up
the state each prediction saw (a numpy gather beside it, not counted). Live cycle: the gate's
work on each cycle's events, timed whole, apart from the cycle (`per_cycle_ms`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

import app.trading.engine
from app.events import Event, PredictionCreated, PredictionResolved
from app.predictor.skill import SkillBook, SkillConfig, SkillKey, SkillState


class TimedSkillBook(SkillBook):
    """A SkillBook that clocks its folds (a trade backtest's whole records: one call per pair, so
    a clock around each costs nothing beside them) and counts the per-event calls, which it
    does not clock (a clock per event would cost as much as the event's work)."""

    def __init__(self, config: SkillConfig) -> None:
        super().__init__(config)
        self.fold_seconds = 0.0
        self.events = 0

    def on_resolved(self, event: PredictionResolved) -> SkillState:
        self.events += 1
        return super().on_resolved(event)

    def on_created(self, event: PredictionCreated) -> SkillState:
        self.events += 1
        return super().on_created(event)

    def fold(self, key: SkillKey, model_kind: str, *columns: npt.NDArray[Any]) -> npt.NDArray[np.int8]:
        started = time.perf_counter()
        try:
            return super().fold(key, model_kind, *columns)
        finally:
            self.fold_seconds += time.perf_counter() - started


@contextmanager
def timed_engines() -> Iterator[list[TimedSkillBook]]:
    """Trading engines built inside keep a TimedSkillBook; the list of them."""
    books: list[TimedSkillBook] = []

    def made(config: SkillConfig) -> TimedSkillBook:
        books.append(TimedSkillBook(config))
        return books[-1]

    saved = app.trading.engine.SkillBook
    app.trading.engine.SkillBook = made  # type: ignore[assignment,misc]
    try:
        yield books
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
