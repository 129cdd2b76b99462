"""What the skill gate costs (issue 19: at most 5% of the trade backtest's time and of the live
cycle's p99 at 500 instruments).

The gate's work is the engine's `SkillBook`: every resolution folded into its pair's window
(`on_resolved`; a trade backtest folds each pair's whole record at once, `fold`), and for every
prediction its model noted and the pair's state read (`on_created`; in a trade backtest the
state each prediction saw is looked up in columns, app.trading.judged_replay); the strategy's
own check is one comparison. The records are kept whether the
gate is on or off (they are shown either way), so that work is what the gate adds.

Trade backtest: a clock around each call would cost as much as the calls (measured: it doubled
the figure), so the run is made again with `ShadowedSkillBook`, which does the same work
`SHADOWS` more times on copies of the records (the trades are the same); the gate's cost is
(that run's time - the plain run's) / SHADOWS. Live cycle: the gate's work on each cycle's
events, timed whole, apart from the cycle (`per_cycle_ms`).
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

SHADOWS = 5


class ShadowedSkillBook(SkillBook):
    """A SkillBook that keeps SHADOWS more copies of its records, for the cost of one."""

    def __init__(self, config: SkillConfig) -> None:
        super().__init__(config)
        self.shadows = [SkillBook(config) for _ in range(SHADOWS)]

    def on_resolved(self, event: PredictionResolved) -> SkillState:
        for shadow in self.shadows:
            shadow.on_resolved(event)
        return super().on_resolved(event)

    def on_created(self, event: PredictionCreated) -> SkillState:
        for shadow in self.shadows:
            shadow.on_created(event)
        return super().on_created(event)

    def fold(self, key: SkillKey, model_kind: str, *columns: npt.NDArray[Any]) -> npt.NDArray[np.int8]:
        for shadow in self.shadows:
            shadow.fold(key, model_kind, *columns)
        return super().fold(key, model_kind, *columns)


@contextmanager
def shadowed_engines() -> Iterator[None]:
    """Trading engines built inside keep a ShadowedSkillBook."""
    saved = app.trading.engine.SkillBook
    app.trading.engine.SkillBook = ShadowedSkillBook  # type: ignore[misc]
    try:
        yield
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
