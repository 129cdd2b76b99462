"""The live record's forecast evaluation (`GET /api/predictor/evaluation`) as it runs in a
worker process (app.jobs.worker): the process reads the resolved predictions from the database
itself and evaluates them there; only the figures come back.

In the server's own process, one day of a 500-instrument desk (375,000 resolved predictions)
held its event loop for ~0.7 s while the rows were read and ~1.7 s more while they were
evaluated on a thread (pandas and numpy holding the GIL): every stream, the predictor's cycle
and the trading engine waited behind one click on the dashboard, and the rows of a longer
window took the server's memory with them. The worker forkserver preloads this module
(app.automation.system), so a call starts in milliseconds.
"""

from __future__ import annotations

from app.predictor.evaluation import Panel, evaluate_all, panels_from_frame
from app.predictor.figures import Evaluation
from app.predictor.store import PredictionStore
from app.storage.db import with_database


def evaluate_live_record(
    url: str, start: int | None, end: int | None, round_trip: float, reporter: object
) -> list[Evaluation]:
    """Every (interval, model, horizon) of the resolved predictions at `url` with ts_pred in
    [start, end] (None: unbounded), evaluated at `round_trip` (fraction of the notional).
    `reporter` is the worker's (unused: the figures come back at once)."""
    return evaluate_all(with_database(url, lambda db: _panels(PredictionStore(db), start, end)), round_trip=round_trip)


async def _panels(store: PredictionStore, start: int | None, end: int | None) -> list[Panel]:
    """The record's panels, read one (interval, model, horizon) at a time: only one group's rows
    are held at once, beside the panels (8 bytes a cell each for the forecasts and outcomes)."""
    panels: list[Panel] = []
    for group in await store.resolved_groups(start=start, end=end):
        panels += panels_from_frame(await store.resolved_frame(start=start, end=end, group=group))
    return panels
