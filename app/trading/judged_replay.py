"""A trade backtest's predictions judged whole, and the engine handed only those it accepts.

Live, the engine judges each `prediction.created` as it comes (`TradingEngine.on_event`): the
calibration its pair had (the latest `prediction.resolved`'s), the pair's skill then (its
`SkillBook`, every resolution folded in) and `Strategy.accepts` on the two. None of that depends
on what the engine did: it is the prediction channel's alone. So a backtest whose predictions
come from a replay recorded whole (`app.predictor.events.ReplayRecord`) judges them all before
its first bar, pair by pair:
- the pair's resolutions are folded into the engine's own SkillBook whole (`SkillBook.fold`:
  the rolling window's counts over columns, held to the live `PairSkill.record` by a test),
  which gives the state after each;
- each prediction takes the calibration and skill state of its pair's latest resolution before
  its anchor (on the channel a bar's predictions come before its resolutions), or none;
- `Strategy.judge` (`accepts` over columns) says why not, or that it is accepted.
What is not accepted is counted in the engine's `skipped` at once, and never built as an event
(three in four in the benchmark's year); the accepted ones are built anchor by anchor and handed
in at their bar by the door's second half (`TradingEngine.on_accepted`), as the live door hands
them on. The backtest's reference (every event through the live door) trades, counts and
reports the same (tests/trading/test_backtest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from app.events import PredictionCreated
from app.predictor.events import ReplayRecord
from app.predictor.skill import CODES, SkillState
from app.trading.engine import TradingEngine
from app.trading.strategy import ACCEPTED, REASONS


@dataclass(frozen=True, slots=True)
class Accepted:
    """The accepted predictions' cells (anchor, horizon, instrument), in the channel's order."""

    t: npt.NDArray[np.intp]
    k: npt.NDArray[np.intp]
    i: npt.NDArray[np.intp]


def judge(record: ReplayRecord, engine: TradingEngine) -> Accepted:
    """Judge every prediction of `record` as the engine's door would (module docstring): fold
    the resolutions into `engine.skill`, count the rejected in `engine.skipped`; the accepted."""
    history = record.history
    if history.pred_ret.shape[2] != 1:
        raise ValueError("a replay is judged whole for one model (the trade backtest's)")
    calibration_n, hit_rate = record.calibration["n"], record.calibration["hit_rate"]
    kind = str(record.kinds[0])
    rejected = np.zeros(len(REASONS), dtype=np.int64)
    anchors: list[npt.NDArray[np.intp]] = []
    horizons: list[npt.NDArray[np.intp]] = []
    instruments: list[npt.NDArray[np.intp]] = []
    for k, horizon in enumerate(record.span.tolist()):
        for i, key in enumerate(record.keys.tolist()):
            made = np.flatnonzero(history.made[:, i])
            res = np.flatnonzero(history.ok[:, k, i])
            n = calibration_n[res, k, 0, i]
            states = engine.skill.fold(
                (key, record.interval, horizon),
                kind,
                n,
                history.actual_ret[res, k, i],
                record.adj[res - horizon, k, 0, i],
                record.close_ts[res],
            )
            # what each prediction saw: its pair's latest resolution before its anchor (0: none)
            seen = np.searchsorted(res, made)
            reasons = engine.strategy.judge(
                horizon,
                np.concatenate([[-1], n])[seen],
                np.concatenate([[0.0], hit_rate[res, k, 0, i]])[seen],
                np.concatenate([[CODES[SkillState.UNTESTED]], states])[seen],
                record.adj[made, k, 0, i],
            )
            rejected += np.bincount(reasons[reasons != ACCEPTED], minlength=len(REASONS))
            taken = made[reasons == ACCEPTED]
            anchors.append(taken)
            horizons.append(np.full(len(taken), k))
            instruments.append(np.full(len(taken), i))
    engine.skipped.update({reason: int(count) for reason, count in zip(REASONS, rejected, strict=True) if count})
    columns = [np.concatenate([np.zeros(0, np.intp), *parts]) for parts in (anchors, horizons, instruments)]
    order = np.lexsort(columns[::-1])  # by anchor, horizon, instrument: the channel's order
    return Accepted(*(column[order] for column in columns))


def accepted_events(
    record: ReplayRecord, accepted: Accepted, *, chunk: int = 4096
) -> Iterator[list[PredictionCreated]]:
    """Per anchor of the record, its accepted predictions as `prediction.created` events (as the
    record builds them: the stepped core's), built `chunk` anchors at a time."""
    steps = len(record.made)
    starts = range(0, steps, chunk)
    bounds = np.searchsorted(accepted.t, [*starts, steps]).tolist()
    for start, (a, b) in zip(starts, pairwise(bounds), strict=True):
        t, k, i = accepted.t[a:b], accepted.k[a:b], accepted.i[a:b]
        events = record.created(t, k, np.zeros_like(t), i)
        ends = np.cumsum(np.bincount(t - start, minlength=min(chunk, steps - start))).tolist()
        for e0, e1 in pairwise([0, *ends]):
            yield events[e0:e1]
