"""Skill: whether a pair's resolved predictions beat chance, by a test chance rarely passes.

Per (instrument, interval, horizon, model) over a rolling window of its latest `window`
resolutions. A resolution is a calibrated hit when sign(actual_ret) == sign(pred_ret_adj)
(the calibration's `hit_rate`, docs/predictor.md). The test is one-sided binomial:

- chance: a forecaster that calls up, down (and flat) as often as this one does, but
  independently of what happens, hits with p0 = sum over s of q_s x a_s, where q_s is the
  window's share of predictions of sign s and a_s its share of moves of sign s (the base rate
  of up moves; the Pesaran-Timmermann null). A model that always says "up" in a market that
  went up 60 % of the time hits 60 %, and is judged against 60 %, not 50 %.
- overlap: predictions are made every bar for h bars ahead, so consecutive outcomes share
  h - 1 bars and are not independent; the test counts n_eff = n // h resolutions, with the
  hits scaled alike (k_eff = hits x n_eff // n): the variance of a sum of overlapping
  indicators is at most h times the independent one, so this errs on the side of no skill.
- the pair is SKILLED when P(X >= k_eff) <= alpha for X ~ Binomial(n_eff, p0), with p0 rounded
  up to the grid of 1/GRID (never in the model's favour); NO_SKILL otherwise; UNTESTED while the
  window holds fewer than `min_resolutions` (or n_eff is 0).

The gate is on the hot path (every resolution, live and in trade backtests): an update is O(1)
(the window's counts of predictions and outcomes by sign, and its hits, over a ring buffer),
and the critical count k*(n_eff, p0) is read from a table over every grid value of p0 and
every n, built once per (alpha, window) with one vectorised scipy call (in the background when
a run starts) and shared by every pair: no scipy call per prediction. p-values are computed
only when a status asks. A trade backtest folds each pair's whole record at once
(`SkillBook.fold`: the window's counts as differences of cumulative sums, the same verdict in
columns), held to `record` resolution by resolution by a test.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from app.events import PredictionCreated, PredictionResolved

GRID = 400  # p0 is rounded up to a multiple of 1/GRID


class SkillState(StrEnum):
    UNTESTED = "untested"
    NO_SKILL = "no_skill"
    SKILLED = "skilled"


_UNTESTED, _NO_SKILL, _SKILLED = SkillState.UNTESTED, SkillState.NO_SKILL, SkillState.SKILLED  # for the hot path
STATES = tuple(SkillState)
"""The states by code: a state as an int8 in columns (`SkillBook.fold`) is its index here."""
CODES = {state: np.int8(code) for code, state in enumerate(STATES)}


@dataclass(frozen=True, slots=True, kw_only=True)
class SkillConfig:
    """:param alpha: significance of the test (the false-positive rate of one window of a no-skill pair).
    :param window: resolutions in the rolling window.
    :param min_resolutions: resolutions the window needs before the test runs (fewer: untested).
    :param gate: the strategy trades only skilled pairs; off: the calibration floor alone decides
        (the records are kept and shown all the same)."""

    alpha: float = 0.05
    window: int = 500
    min_resolutions: int = 100
    gate: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"skill alpha must be in (0, 1), got {self.alpha}")
        if not 1 <= self.min_resolutions <= self.window:
            raise ValueError(f"skill min_resolutions ({self.min_resolutions}) must be in [1, window ({self.window})]")


def critical_hits(alpha: float, window: int, g: int) -> npt.NDArray[np.int64]:
    """k*[n] for n = 0..window: the fewest hits of n with P(X >= k*) <= alpha for
    X ~ Binomial(n, g / GRID); n + 1 where no count is that rare (a row of `critical_table`)."""
    return np.asarray(critical_rows(alpha, window)[g], dtype=np.int64)


def critical_table(alpha: float, window: int) -> npt.NDArray[np.int64]:
    """k*[g, n] for every grid value g = 0..GRID and n = 0..window: one vectorised scipy call
    over the whole grid (~0.2 s), instead of one per p0 value met on the hot path."""
    from scipy import stats  # imported on first use (`preload` starts it early), not with the module

    n = np.arange(window + 1)[None, :]
    p = (np.arange(GRID + 1) / GRID)[:, None]
    crit = np.asarray(stats.binom.isf(alpha, n, p), dtype=np.float64) + 1
    crit = np.where(np.isfinite(crit), crit, n + 1).astype(np.int64)
    # isf is a float inversion: make each k* exact against the survival function it stands for
    crit += stats.binom.sf(crit - 1, n, p) > alpha
    crit -= (crit > 0) & (stats.binom.sf(crit - 2, n, p) <= alpha)
    return np.minimum(crit, n + 1)


def critical_rows(alpha: float, window: int) -> list[list[int]]:
    """`critical_table` as Python lists (the verdict reads a list item, not a numpy scalar):
    built once per (alpha, window) in this process and shared by every pair. `preload` builds it
    in the background when a run starts; a verdict that comes first builds it itself."""
    table = _TABLES.get((alpha, window))
    if table is None:
        table = _TABLES.setdefault((alpha, window), critical_table(alpha, window).tolist())
    return table


_TABLES: dict[tuple[float, int], list[list[int]]] = {}


@functools.cache
def critical_array(alpha: float, window: int) -> npt.NDArray[np.int64]:
    """`critical_rows` as one array (a fold over columns indexes it whole)."""
    return np.asarray(critical_rows(alpha, window), dtype=np.int64)


def preload(config: SkillConfig) -> None:
    """Import scipy.stats and build the run's `critical_rows` in a background thread, so a
    live service's first skill verdict waits for neither on the event loop (when a run starts)."""
    threading.Thread(
        target=critical_rows, args=(config.alpha, config.window), name="skill-preload", daemon=True
    ).start()


def chance_rate(calls: npt.ArrayLike, moves: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """p0 from (..., 3) counts of predictions and of outcomes by sign (up, down, flat): the hit
    rate of a forecaster independent of the outcome with the same shares of calls and moves."""
    c, m = np.asarray(calls, dtype=np.float64), np.asarray(moves, dtype=np.float64)
    n = c.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (c * m).sum(axis=-1) / np.maximum(n, 1) ** 2, 0.5)


def grid_index(p0: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """p0 rounded up to the grid (the row of `critical_table` it reads)."""
    return np.minimum(np.ceil(np.asarray(p0) * GRID - 1e-9), GRID).astype(np.int64)


def effective(hits: npt.ArrayLike, n: npt.ArrayLike, horizon: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], ...]:
    """(k_eff, n_eff): the window's hits and resolutions counted as independent ones."""
    n_arr = np.asarray(n, dtype=np.int64)
    n_eff = n_arr // np.asarray(horizon, dtype=np.int64)
    k_eff = np.asarray(hits, dtype=np.int64) * n_eff // np.maximum(n_arr, 1)
    return k_eff, n_eff


def p_value(k_eff: npt.ArrayLike, n_eff: npt.ArrayLike, p0: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """P(X >= k_eff), X ~ Binomial(n_eff, p0 on the grid): the test's p-value (vectorised)."""
    from scipy import stats

    p = grid_index(p0) / GRID
    return np.asarray(stats.binom.sf(np.asarray(k_eff) - 1, n_eff, p), dtype=np.float64)


def _signs(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """`PairSkill.record`'s sign codes: 0 up, 1 down, 2 flat (NaN too)."""
    return np.where(values > 0, 0, np.where(values < 0, 1, 2))


class PairSkill:
    """One pair's rolling window and its verdict; `record` is O(1)."""

    __slots__ = (
        "alpha",
        "calibration_n",
        "calls",
        "critical",
        "first_skilled",
        "hits",
        "horizon",
        "min_n",
        "moves",
        "n",
        "pos",
        "ring",
        "since",
        "skilled_resolutions",
        "spells",
        "state",
        "window",
    )

    def __init__(self, horizon: int, config: SkillConfig) -> None:
        self.horizon = horizon
        self.min_n = config.min_resolutions
        self.alpha, self.window = config.alpha, config.window
        # the shared table, fetched at the first verdict: a pair that is never tested (and a run
        # whose first resolutions come before `preload` has built it) never waits for it
        self.critical: list[list[int]] | None = None
        self.ring = [-1] * config.window
        self.pos = 0
        self.calls = [0] * 3  # the window's predictions of each sign (up, down, flat)
        self.moves = [0] * 3  # and its outcomes of each sign
        self.n = 0
        self.hits = 0
        self.state = SkillState.UNTESTED
        self.since: int | None = None  # ts of the resolution that set the state
        self.first_skilled: int | None = None
        self.spells = 0  # times the state turned skilled
        self.skilled_resolutions = 0
        self.calibration_n = 0  # the calibration's n at the latest resolution (a drop: a new model)

    def record(self, actual_ret: float, pred_ret_adj: float, ts: int) -> SkillState:
        """Fold in one resolution (at `ts`); the state after it."""
        # signs 0 up, 1 down, 2 flat; the ring keeps each resolution's (predicted, actual) as 3 x row + col
        row = 0 if pred_ret_adj > 0 else 1 if pred_ret_adj < 0 else 2
        col = 0 if actual_ret > 0 else 1 if actual_ret < 0 else 2
        calls, moves, ring, pos = self.calls, self.moves, self.ring, self.pos
        old = ring[pos]
        hits = self.hits + (row == col)
        if old >= 0:
            calls[old // 3] -= 1
            moves[old % 3] -= 1
            hits -= old in (0, 4, 8)
            n = self.n
        else:
            n = self.n = self.n + 1
        calls[row] += 1
        moves[col] += 1
        self.hits = hits
        ring[pos] = 3 * row + col
        self.pos = pos + 1 if pos + 1 < self.window else 0
        # the verdict (module docstring): p0 on the grid, k* from the shared table's row for it
        n_eff = n // self.horizon
        if n < self.min_n or n_eff == 0:
            state = _UNTESTED
        else:
            # p0 = s / n^2 rounded up to the grid, in integers (exact; s <= n^2, so g <= GRID)
            g = -(-(calls[0] * moves[0] + calls[1] * moves[1] + calls[2] * moves[2]) * GRID // (n * n))
            critical = self.critical or self._fetch_critical()
            state = _SKILLED if hits * n_eff // n >= critical[g][n_eff] else _NO_SKILL
        if state is not self.state:
            self.state, self.since = state, ts
            if state is _SKILLED:
                self.spells += 1
                if self.first_skilled is None:
                    self.first_skilled = ts
        if state is _SKILLED:
            self.skilled_resolutions += 1
        return state

    def _fetch_critical(self) -> list[list[int]]:
        self.critical = critical_rows(self.alpha, self.window)
        return self.critical

    @property
    def p0(self) -> float:
        """The window's chance rate (`chance_rate`), unrounded; 0.5 while it is empty."""
        n = self.n
        c, m = self.calls, self.moves
        return (c[0] * m[0] + c[1] * m[1] + c[2] * m[2]) / (n * n) if n else 0.5


SkillKey = tuple[str, str, int]  # (instrument_key, interval, horizon_steps)


class SkillBook:
    """The skill of every pair that has resolved predictions. One model predicts a pair at a
    time: when it changes, its calibration starts afresh, and so does its record (`reset`)."""

    def __init__(self, config: SkillConfig) -> None:
        self.config = config
        self.pairs: dict[SkillKey, PairSkill] = {}
        self.models: dict[SkillKey, str] = {}  # the model_kind each pair's record is of, where known

    def on_created(self, event: PredictionCreated) -> SkillState:
        """Note the model a pair's predictions come from (shown with its record); the pair's
        state as this prediction is made (what the strategy's gate reads: one lookup for both)."""
        key = (event.instrument_key, event.interval, event.horizon_steps)
        self.models[key] = event.model_kind
        pair = self.pairs.get(key)
        return SkillState.UNTESTED if pair is None else pair.state

    def on_resolved(self, event: PredictionResolved) -> SkillState:
        """Fold one resolution into its pair's record (afresh when the calibration restarted)."""
        key = (event.instrument_key, event.interval, event.horizon_steps)
        pair = self.pairs.get(key)
        n = event.calibration.n
        if pair is None or n < pair.calibration_n:
            pair = self.pairs[key] = PairSkill(event.horizon_steps, self.config)
        pair.calibration_n = n
        return pair.record(event.actual_ret, event.pred_ret_adj, event.ts_target)

    def fold(
        self,
        key: SkillKey,
        model_kind: str,
        calibration_n: npt.NDArray[np.int64],
        actual_ret: npt.NDArray[np.float64],
        pred_ret_adj: npt.NDArray[np.float64],
        ts: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.int8]:
        """A pair's whole record of resolutions in order, as columns (the calibration's n after
        each, actual_ret, pred_ret_adj, ts_target), into a book that holds none of it yet: the
        state after each (`CODES`), and the pair left as folding each with `on_resolved` leaves
        it, its model noted as `on_created` notes it. For a backtest that judges a replay's
        record whole (app.trading.judged_replay): the rolling window's counts are differences of
        cumulative sums, the verdict the same integer test as `PairSkill.record`'s, a new record
        wherever the calibration's n fell (tests/predictor/test_skill.py holds it to `record`)."""
        if key in self.pairs:
            raise ValueError(f"fold: the book already holds a record of {key}")
        self.models[key] = model_kind
        n = np.asarray(calibration_n, dtype=np.int64)
        size = len(n)
        if not size:
            return np.zeros(0, dtype=np.int8)
        config, horizon = self.config, key[2]
        window = config.window
        index = np.arange(size)
        new_record = np.r_[True, n[1:] < n[:-1]]
        starts = np.flatnonzero(new_record)
        first = starts[np.cumsum(new_record) - 1]  # per resolution, its record's first
        low = np.maximum(index - window + 1, first)  # the window's first resolution
        row, col = _signs(np.asarray(pred_ret_adj)), _signs(np.asarray(actual_ret))

        def windowed(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
            total = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])
            return total[index + 1] - total[low]

        calls = [windowed(row == sign) for sign in range(3)]
        moves = [windowed(col == sign) for sign in range(3)]
        hits = windowed(row == col)
        count = index + 1 - low
        n_eff = count // horizon
        g = -(-(calls[0] * moves[0] + calls[1] * moves[1] + calls[2] * moves[2]) * GRID // (count * count))
        critical = critical_array(config.alpha, window)[g, n_eff]
        states = np.where(
            (count < config.min_resolutions) | (n_eff == 0),
            CODES[_UNTESTED],
            np.where(hits * n_eff // count >= critical, CODES[_SKILLED], CODES[_NO_SKILL]),
        ).astype(np.int8)
        last = int(starts[-1])  # the pair's record now: the last one, as `record` would have left it
        pair = self.pairs[key] = PairSkill(horizon, config)
        pair.calibration_n = int(n[-1])
        pair.n, pair.hits = int(count[-1]), int(hits[-1])
        pair.calls, pair.moves = [int(c[-1]) for c in calls], [int(m[-1]) for m in moves]
        for j in range(max(last, size - window), size):
            pair.ring[(j - last) % window] = int(3 * row[j] + col[j])
        pair.pos = (size - last) % window
        mine, stamps = states[last:], np.asarray(ts)[last:]
        changed = np.flatnonzero(mine != np.r_[CODES[_UNTESTED], mine[:-1]])
        skilled = mine == CODES[_SKILLED]
        pair.state = STATES[mine[-1]]
        pair.since = int(stamps[changed[-1]]) if len(changed) else None
        pair.first_skilled = int(stamps[np.argmax(skilled)]) if skilled.any() else None
        pair.spells = int(np.count_nonzero(skilled[changed]))
        pair.skilled_resolutions = int(np.count_nonzero(skilled))
        return states

    def __iter__(self) -> Iterator[tuple[SkillKey, PairSkill]]:
        return iter(sorted(self.pairs.items()))

    def public(self) -> list[dict[str, object]]:
        """Every pair's state with the test's figures (hits, n, their effective counts, p0, p-value)."""
        items = list(self)
        if not items:
            return []
        pairs = [p for _, p in items]
        hits = np.array([p.hits for p in pairs])
        n = np.array([p.n for p in pairs])
        k_eff, n_eff = effective(hits, n, [p.horizon for p in pairs])
        p0 = chance_rate([p.calls for p in pairs], [p.moves for p in pairs])
        pv = p_value(k_eff, n_eff, p0)
        return [
            {
                "instrument_key": key[0],
                "interval": key[1],
                "horizon_steps": key[2],
                "model_kind": self.models.get(key),
                "state": pair.state.value,
                "n": pair.n,
                "hits": pair.hits,
                "n_eff": int(n_eff[j]),
                "hits_eff": int(k_eff[j]),
                "hit_rate": pair.hits / pair.n if pair.n else None,
                "chance_rate": float(p0[j]),
                "p_value": float(pv[j]) if pair.state is not SkillState.UNTESTED else None,
                "since": pair.since,
                "first_skilled": pair.first_skilled,
                "spells": pair.spells,
                "skilled_resolutions": pair.skilled_resolutions,
            }
            for j, (key, pair) in enumerate(items)
        ]
