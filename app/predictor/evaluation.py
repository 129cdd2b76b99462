"""Forecast evaluation: how good resolved predictions were, per model and horizon.

Every figure (app/predictor/figures.py) is defined in docs/predictor.md ("Forecast evaluation").
The input is a Panel: the resolved predictions of one (interval, model, horizon) as an anchors x
instruments matrix, built from a backtest's resolutions or from the live record's rows
(`panels_from_frame`). The zero model is the forecast 0; persistence forecasts the return of the
last `h` bars, i.e. the actual return of the prediction whose target is this anchor.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special
from threadpoolctl import ThreadpoolController

from app.predictor.calibration import Mask
from app.predictor.features import Array
from app.predictor.figures import DECILES, Decile, Evaluation

Order = npt.NDArray[np.intp]  # an argsort

MIN_CROSS_SECTION = 3  # instruments an anchor needs for a correlation across them
THREADS = min(2, os.cpu_count() or 1)
"""Panels `evaluate_all` evaluates at a time, when they are large (THREADED_CELLS)."""


@dataclass(frozen=True, slots=True, eq=False)
class Panel:
    """Resolved predictions of one (interval, model, horizon): rows are anchors sorted by ts_pred.

    `pred` (pred_ret_adj) and `actual` (actual_ret) are (anchors, instruments), NaN where the
    instrument has no resolved prediction at that anchor.
    """

    interval: str
    model_kind: str
    horizon: int
    ts_pred: Array
    ts_target: Array
    pred: Array
    actual: Array

    @property
    def persistence(self) -> Array:
        """The persistence forecast: the actual return of the (first) prediction that resolved at ts_pred."""
        out = np.full_like(self.actual, np.nan)
        h = self.horizon
        if self._resolves_h_rows_later():  # a backtest's rows: each anchor's is the row h before it
            out[h:] = self.actual[:-h]
            return out
        in_order = bool(np.all(self.ts_target[1:] >= self.ts_target[:-1]))
        order = np.arange(len(self.ts_target)) if in_order else np.argsort(self.ts_target, kind="stable")
        targets = self.ts_target[order]
        first = np.r_[True, targets[1:] != targets[:-1]]
        targets, rows = targets[first], order[first]
        at = np.minimum(np.searchsorted(targets, self.ts_pred), len(targets) - 1)
        found = targets[at] == self.ts_pred if len(targets) else np.zeros(len(self.ts_pred), dtype=bool)
        out[found] = self.actual[rows[at[found]]]
        return out

    def _resolves_h_rows_later(self) -> bool:
        """Anchors strictly in order, and each row's target the anchor `horizon` rows later (a
        backtest's rows, every anchor of its bars): then the first prediction that resolved at
        row j is row j - h's, and none resolved at the first h (no search needed)."""
        h, ts_pred = self.horizon, self.ts_pred
        return (
            0 < h < len(ts_pred)
            and bool(np.all(ts_pred[1:] > ts_pred[:-1]))
            and np.array_equal(self.ts_target[:-h], ts_pred[h:])
        )


def split_panels(panels: Iterable[Panel], at: int) -> tuple[list[Panel], list[Panel]]:
    """Each panel's anchors before `at` (epoch s) and from it on (its rows are sorted by
    ts_pred), as two panels. Panels that share their anchors and outcomes (a backtest's models of
    one horizon) share their parts too, so `evaluate_all` still ranks their outcomes once."""
    before: list[Panel] = []
    after: list[Panel] = []
    parts: dict[tuple[int, int, int], tuple[tuple[Array, ...], tuple[Array, ...]]] = {}
    for panel in panels:
        cut = int(np.searchsorted(panel.ts_pred, at))
        key = (id(panel.ts_pred), id(panel.ts_target), id(panel.actual))
        if key not in parts:
            columns = (panel.ts_pred, panel.ts_target, panel.actual)
            parts[key] = (tuple(c[:cut] for c in columns), tuple(c[cut:] for c in columns))
        (ts_a, target_a, actual_a), (ts_b, target_b, actual_b) = parts[key]
        head = (panel.interval, panel.model_kind, panel.horizon)
        before.append(Panel(*head, ts_a, target_a, panel.pred[:cut], actual_a))
        after.append(Panel(*head, ts_b, target_b, panel.pred[cut:], actual_b))
    return before, after


class Resolved(NamedTuple):
    """A panel's resolved predictions: where both the forecast and the outcome are (`ok`), the
    panel's matrices NaN elsewhere, and those cells row-major (`x` forecasts, `y` outcomes)."""

    ok: Mask
    pred: Array
    actual: Array
    x: Array
    y: Array

    @classmethod
    def of(cls, panel: Panel) -> Resolved:
        ok = np.isfinite(panel.pred) & np.isfinite(panel.actual)
        pred, actual = np.where(ok, panel.pred, np.nan), np.where(ok, panel.actual, np.nan)
        return cls(ok, pred, actual, pred[ok], actual[ok])


def evaluate(
    panel: Panel, *, round_trip: float, shared: Shared | None = None, resolved: Resolved | None = None
) -> Evaluation:
    """All figures of `panel`; `round_trip` is the cost model's round-trip cost as a fraction of
    notional, charged on each leg of the long-short figure. `shared`: what panels with the same
    outcomes (every model of one horizon) compute once between them, and the sorts it made
    ahead (`evaluate_all` passes one); `resolved`: the panel's, when they are at hand."""
    shared = shared if shared is not None else Shared()
    ok, pred, actual, x, y = resolved if resolved is not None else Resolved.of(panel)
    ic, rank_ic, spread = _cross_sections(pred, actual)
    rows = ok.any(axis=1)
    # the anchors with a resolved prediction (one instrument: its resolved predictions, as they are)
    at_rows = (x[:, None], y[:, None]) if pred.shape[1] == 1 else (pred[rows], actual[rows])
    dm_sq = diebold_mariano(_loss_differential(*at_rows, np.square), panel.horizon)
    dm_abs = diebold_mariano(_loss_differential(*at_rows, np.abs), panel.horizon)
    persistence = shared.persistence(panel)
    both = ok & np.isfinite(persistence)
    outcome = actual[both]  # where the persistence forecast is too
    gross = _mean(spread)
    order, ranks = shared.forecast_ranks(x)  # the forecasts' one sort: their deciles and their ranks
    return Evaluation(
        interval=panel.interval,
        model_kind=panel.model_kind,
        horizon_steps=panel.horizon,
        n=int(ok.sum()),
        anchors=int(rows.sum()),
        ic_anchors=len(ic),
        ic_mean=_mean(ic),
        ic_std=_std(ic),
        ic_ir=_ratio(_mean(ic), _std(ic)),
        rank_ic_mean=_mean(rank_ic),
        rank_ic_std=_std(rank_ic),
        rank_ic_ir=_ratio(_mean(rank_ic), _std(rank_ic)),
        pooled_ic=_pooled(x, y),
        pooled_rank_ic=_pooled(ranks, shared.outcome_ranks(panel, ok, y)),
        dm_sq_stat=dm_sq[0] if dm_sq else None,
        dm_sq_p=dm_sq[1] if dm_sq else None,
        dm_abs_stat=dm_abs[0] if dm_abs else None,
        dm_abs_p=dm_abs[1] if dm_abs else None,
        mase_zero=_ratio(_mean(np.abs(y - x)), _mean(np.abs(y))),
        mase_persistence=_ratio(_mean(np.abs(outcome - pred[both])), _mean(np.abs(outcome - persistence[both]))),
        long_short_anchors=len(spread),
        long_short_gross=gross,
        long_short_net=gross - 2 * round_trip if gross is not None else None,
        deciles=reliability(x, y, order),
    )


def evaluate_all(panels: Iterable[Panel], *, round_trip: float, threads: int = THREADS) -> list[Evaluation]:
    """`evaluate` of every panel, in order, sharing what panels of the same outcomes have in
    common. Large panels (THREADED_CELLS) are evaluated `threads` at a time, each in a thread of
    its own: their numpy passes and sorts leave the GIL. (At most `threads` in flight: a panel's
    resolved cells and sort take ~5 times its forecasts' memory, ~460 MB at 100
    instrument-years.) Smaller ones are evaluated in this thread, the sorts of the next
    `threads` started ahead in `threads` threads (`_sorting_ahead`).

    BLAS is held to one thread meanwhile. The evaluation's only BLAS calls are the
    Diebold-Mariano autocovariances' dot products (statsmodels' acovf); OpenBLAS splits a dot of
    more than 10,000 values over its thread pool, whose threads then spin a while before they
    sleep, taking a core from whatever runs next: after an evaluation, a replay's two kernel
    threads took 75-85 ms instead of 50 (a server: the live cycle and the event loop)."""
    panels, shared = list(panels), Shared()
    with blas().limit(limits=1, user_api="blas"):
        if threads < 2:
            return [evaluate(panel, round_trip=round_trip, shared=shared) for panel in panels]
        with ThreadPoolExecutor(threads, "evaluation") as pool:
            if any(p.pred.size >= THREADED_CELLS for p in panels):
                return list(pool.map(lambda panel: evaluate(panel, round_trip=round_trip, shared=shared), panels))
            return list(_sorting_ahead(panels, shared, pool, round_trip=round_trip, ahead=threads))


def _sorting_ahead(
    panels: list[Panel], shared: Shared, pool: Executor, *, round_trip: float, ahead: int
) -> Iterator[Evaluation]:
    """Each panel evaluated in this thread, in order, while the sorts of the next `ahead` run in
    `pool` (`Shared.sort_ahead`): at most `ahead` + 1 panels' resolved cells are held at once,
    however many panels there are (a live record's intervals x models x horizons)."""
    started: dict[int, Resolved] = {}

    def start(i: int) -> None:
        if i < len(panels):
            started[i] = Resolved.of(panels[i])
            shared.sort_ahead(panels[i], started[i], pool)

    for i in range(ahead):
        start(i)
    for i, panel in enumerate(panels):
        start(i + ahead)
        yield evaluate(panel, round_trip=round_trip, shared=shared, resolved=started.pop(i))


@functools.cache
def blas() -> ThreadpoolController:
    """The process's BLAS libraries (numpy's and scipy's OpenBLAS, loaded by this module's
    imports), found once: `threadpool_limits` looks them up again at every call, ~3.3 ms."""
    return ThreadpoolController()


THREADED_CELLS = 500_000
"""Cells (anchors x instruments) of the largest panel from which `evaluate_all` evaluates panels
in threads: below, the figures are many short numpy calls that hold the GIL, so only the sorts
go to the threads, all started ahead (one instrument-year of 1-minute bars, six panels of 94,000
cells: 53 ms in one thread, 43-46 with the sorts ahead; 20 instrument-years: 3.2 s in one
thread, 2.0-2.1 s with two panels at a time)."""


class Shared:
    """What every model of one horizon has in common, computed once between them: the
    persistence forecast, and the ranks of the outcomes (keyed by the panel's own arrays: a
    backtest's panels of one horizon share them; the ranks by the resolved cells too); and the
    sorts started ahead (`sort_ahead`). Safe for `evaluate_all`'s threads: the first to ask
    computes, the others wait for it. Each result is kept with the arrays it was keyed by, so
    their ids are not reused meanwhile."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: dict[Hashable, tuple[object, Future[Any]]] = {}

    def persistence(self, panel: Panel) -> Array:
        return self._once((id(panel.actual), id(panel.ts_pred), id(panel.ts_target)), panel, lambda: panel.persistence)

    def outcome_ranks(self, panel: Panel, ok: Mask, outcomes: Array) -> Array:
        """Average ranks of the panel's outcomes at `ok` (`outcomes`: those, row-major)."""
        return self._once(self._outcomes(panel, ok), panel.actual, lambda: ranks_of(outcomes))

    def forecast_ranks(self, forecasts: Array) -> tuple[Order, Array]:
        """`ranked_order(forecasts)`: as sorted ahead (`sort_ahead`; forgotten here once taken), else now."""
        with self._lock:
            entry = self._results.pop(id(forecasts), None)
        return entry[1].result() if entry is not None else ranked_order(forecasts)

    def sort_ahead(self, panel: Panel, resolved: Resolved, pool: Executor) -> None:
        """Start in `pool` the sorts `evaluate(panel)` will ask for: its forecasts', and its
        outcomes' unless a panel sharing them started those. The sort kernel leaves the GIL, so
        they run on the other cores while this thread evaluates."""
        x, y = resolved.x, resolved.y
        with self._lock:
            self._results[id(x)] = (x, pool.submit(ranked_order, x))
            outcomes = self._outcomes(panel, resolved.ok)
            if outcomes not in self._results:
                self._results[outcomes] = (panel.actual, pool.submit(ranks_of, y))

    @staticmethod
    def _outcomes(panel: Panel, ok: Mask) -> Hashable:
        return id(panel.actual), np.packbits(ok).tobytes()

    def _once(self, key: Hashable, keep: object, work: Callable[[], Array]) -> Array:
        with self._lock:
            entry = self._results.get(key)
            first = entry is None
            if entry is None:
                entry = self._results[key] = (keep, Future())
        result = entry[1]
        if first:
            try:
                result.set_result(work())
            except BaseException as e:
                result.set_exception(e)
                raise
        return result.result()


def ranked_order(values: Array) -> tuple[Order, Array]:
    """`values`' stable order and average ranks (scipy.stats.rankdata's "average"), from one sort."""
    order, ranked, tied = _sort(values)
    return order, _ranks(order, ranked, tied)


def ranks_of(values: Array) -> Array:
    """`values`' average ranks (scipy.stats.rankdata's "average"), from one sort."""
    return _ranks(*_sort(values))


def _ranks(order: Order, ranked: Array, tied: Order) -> Array:
    """Average ranks from a sort (any order of ties: they get one rank): distinct values 1..n,
    each run of ties the mean of its ranks."""
    ranks = np.empty(len(ranked))
    if not len(tied):
        ranks[order] = np.arange(1.0, len(ranked) + 1)
        return ranks
    first = np.ones(len(ranked), dtype=bool)  # where a run of equal values starts
    first[tied + 1] = False
    ranks[order] = _run_ranks(first, len(ranked))
    return ranks


def stable_order(values: Array) -> Order:
    """`np.argsort(values, kind="stable")` of finite values (`kernels.stable_argsort`)."""
    return _sort(values)[0]


def _sort(values: Array) -> tuple[Order, Array, Order]:
    """The stable order of finite `values` (`kernels.stable_argsort`: a radix sort, about twice
    numpy's unstable argsort here, with ties already in index order), the values in it, and
    where a value equals the next."""
    from app.predictor.kernels import stable_argsort  # numba: imported when first needed

    order = stable_argsort(np.ascontiguousarray(values, dtype=np.float64))
    ranked = values[order]
    return order, ranked, np.flatnonzero(ranked[1:] == ranked[:-1])


def _run_ranks(first: Mask, width: int) -> Array:
    """Average ranks of sorted values in rows of `width`, flattened, from where each run of
    equal values starts (`first`; every row starts one): a run from position a to b of its
    row ranks (a + b) / 2 + 1."""
    starts = np.flatnonzero(first)
    counts = np.diff(np.r_[starts, len(first)])
    return np.repeat(starts % width + (counts + 1) / 2, counts)


def diebold_mariano(d: Array, horizon: int) -> tuple[float, float] | None:
    """DM statistic of the loss differential series `d` (model loss - zero model loss, in time
    order) with the Harvey-Leybourne-Newbold correction, and its two-sided p-value from
    Student's t with n - 1 degrees of freedom.

    The long-run variance is the rectangular sum of autocovariances up to lag h - 1 (Diebold &
    Mariano 1995), falling back to the variance alone where that sum is not positive.
    statsmodels' diebold_mariano_test weighs lags with Bartlett weights (Newey-West) instead; it
    agrees at horizon 1, where there are none.
    """
    # imported here, not with the module: ~0.9 s that every backtest paid, the trade backtest's
    # too, which imports this module for `Panel` and never evaluates
    from statsmodels.tsa.stattools import acovf

    n = len(d)
    correction = (n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n if n else 0.0
    if n < 2 or correction <= 0:
        return None
    gamma = acovf(d, nlag=min(horizon - 1, n - 1), fft=False)
    variance = gamma[0] + 2 * gamma[1:].sum()
    if variance <= 0:
        variance = gamma[0]
    mean = float(np.mean(d))
    if variance <= 0:  # a constant differential: no evidence either way when it is 0
        return (0.0, 1.0) if mean == 0 else None
    statistic = mean / np.sqrt(variance / n) * np.sqrt(correction)
    # Student's t survival function as scipy.stats.t.sf computes it, without its generic
    # distribution machinery (0.13 ms a call against 3 us)
    return float(statistic), float(2 * special.stdtr(n - 1, -abs(statistic)))


def reliability(pred: Array, actual: Array, order: Order | None = None) -> list[Decile]:
    """Predictions split into deciles of pred (ordinal ranks, ties in their order, so equal sizes
    within one), with their mean prediction, mean actual return and hit rate. `order`: pred's
    stable argsort, when it is at hand."""
    n = len(pred)
    if n < DECILES:
        return []
    order = stable_order(pred) if order is None else order
    x, y = pred[order], actual[order]
    starts = -(-np.arange(DECILES) * n // DECILES)  # the first ordinal rank r with r * 10 // n = decile - 1
    counts = np.diff(np.r_[starts, n])
    mean_pred, mean_actual = np.add.reduceat(x, starts) / counts, np.add.reduceat(y, starts) / counts
    hit_rate = np.add.reduceat((np.sign(x) == np.sign(y)).astype(np.float64), starts) / counts
    return [
        Decile(d + 1, int(counts[d]), float(mean_pred[d]), float(mean_actual[d]), float(hit_rate[d]))
        for d in range(DECILES)
    ]


def panels_from_frame(frame: pd.DataFrame) -> list[Panel]:
    """Panels of resolved prediction rows (columns interval, model_kind, horizon_steps,
    instrument_key, ts_pred, ts_target, pred_ret_adj, actual_ret), one per (interval, model, horizon)."""
    panels = []
    for (interval, kind, horizon), rows in frame.groupby(["interval", "model_kind", "horizon_steps"], sort=True):
        pred = rows.pivot_table(index="ts_pred", columns="instrument_key", values="pred_ret_adj", aggfunc="last")
        actual = rows.pivot_table(index="ts_pred", columns="instrument_key", values="actual_ret", aggfunc="last")
        targets = rows.groupby("ts_pred")["ts_target"].last()
        panels.append(
            Panel(
                str(interval),
                str(kind),
                int(horizon),
                pred.index.to_numpy(np.int64),
                targets.loc[pred.index].to_numpy(np.int64),
                pred.to_numpy(np.float64),
                actual.reindex(index=pred.index, columns=pred.columns).to_numpy(np.float64),
            )
        )
    return panels


def _cross_sections(pred: Array, actual: Array) -> tuple[Array, Array, Array]:
    """Per anchor: IC, Rank IC (anchors with >= 3 instruments) and top-minus-bottom quintile
    spread (anchors with >= 2), skipping anchors where the forecast or outcome is constant."""
    ic, rank_ic, spread = [np.empty(0)], [np.empty(0)], [np.empty(0)]
    for x, y in _complete_blocks(pred, actual):
        varied = (np.ptp(x, axis=1) > 0) & (np.ptp(y, axis=1) > 0)
        x, y = x[varied], y[varied]
        if not len(x):
            continue
        width = x.shape[1]
        k = max(1, width // 5)
        order, ranked = _row_order(x)
        top = np.take_along_axis(y, order[:, -k:], axis=1).mean(axis=1)
        bottom = np.take_along_axis(y, order[:, :k], axis=1).mean(axis=1)
        spread.append(top - bottom)
        if width >= MIN_CROSS_SECTION:
            ic.append(_row_correlations(x, y))
            y_order = np.argsort(y, axis=1)
            y_ranks = _row_ranks(np.take_along_axis(y, y_order, axis=1), y_order)
            rank_ic.append(_row_correlations(_row_ranks(ranked, order), y_ranks))
    return np.concatenate(ic), np.concatenate(rank_ic), np.concatenate(spread)


def _row_correlations(x: Array, y: Array) -> Array:
    """Pearson's correlation of each row of `x` with the same row of `y` (rows not constant):
    scipy.stats.pearsonr(x, y, axis=1)'s statistic, without the p-values it computes besides
    (7x the time at 20 instruments; np.corrcoef of one pair: 3x)."""
    dx, dy = x - x.mean(axis=1, keepdims=True), y - y.mean(axis=1, keepdims=True)
    r = np.einsum("ij,ij->i", dx, dy) / np.sqrt(np.einsum("ij,ij->i", dx, dx) * np.einsum("ij,ij->i", dy, dy))
    return np.clip(r, -1.0, 1.0)


def _row_order(values: Array) -> tuple[Order, Array]:
    """Each row's stable order (np.argsort(values, axis=1, kind="stable")) and its values in it:
    by the unstable sort (4x faster at 100 instruments), sorted again stably in the rows where
    two values tie (the two orders differ only there)."""
    order = np.argsort(values, axis=1)
    ranked = np.take_along_axis(values, order, axis=1)
    tied = (ranked[:, 1:] == ranked[:, :-1]).any(axis=1)
    if tied.any():
        order[tied] = np.argsort(values[tied], axis=1, kind="stable")
    return order, ranked


def _row_ranks(ranked: Array, order: Order) -> Array:
    """Each row's average ranks (scipy.stats.rankdata(values, axis=1)), from its sort: `order`
    and the values in it (`ranked`)."""
    width = ranked.shape[1]
    first = np.empty(ranked.shape, dtype=bool)  # where a run of equal values starts (each row starts one)
    first[:, 0] = True
    np.not_equal(ranked[:, 1:], ranked[:, :-1], out=first[:, 1:])
    if first.all():  # no ties: 1..width
        sorted_ranks = np.broadcast_to(np.arange(1.0, width + 1), ranked.shape)
    else:  # runs never cross rows: the 1-D way over the flattened rows, positions taken within each row
        sorted_ranks = _run_ranks(first.ravel(), width).reshape(ranked.shape)
    ranks = np.empty(ranked.shape)
    np.put_along_axis(ranks, order, sorted_ranks, axis=1)
    return ranks


def _complete_blocks(pred: Array, actual: Array) -> Iterator[tuple[Array, Array]]:
    """The anchors grouped by which instruments they have, each group as dense (rows, cols)
    matrices of those instruments: the correlations then run vectorised over a group's rows.
    (Rows are grouped by their pattern packed into bytes: one 1-D unique, where np.unique's
    axis=0 sorts the rows themselves, 50x slower; the groups come in the same order.)"""
    ok = np.isfinite(pred) & np.isfinite(actual)
    rows = np.flatnonzero(ok.sum(axis=1) >= 2)
    if not len(rows):
        return
    packed = np.packbits(ok[rows], axis=1)
    _, inverse, counts = np.unique(
        packed.view(np.dtype((np.void, packed.shape[1]))).ravel(), return_inverse=True, return_counts=True
    )
    grouped = rows[np.argsort(inverse.ravel(), kind="stable")]
    for at in np.split(grouped, np.cumsum(counts)[:-1]):
        cols = np.flatnonzero(ok[at[0]])
        yield pred[np.ix_(at, cols)], actual[np.ix_(at, cols)]


def _loss_differential(pred: Array, actual: Array, loss: np.ufunc) -> Array:
    """Per anchor (each with a resolved prediction): mean over its instruments of loss(model
    error) - loss(zero model error)."""
    d = loss(actual - pred) - loss(actual)
    if d.shape[1] == 1:  # one instrument: every anchor's one value (nanmean's pass costs 10x)
        return d[:, 0]
    return np.nanmean(d, axis=1)


def _pooled(x: Array, y: Array) -> float | None:
    """Pearson's correlation over every resolved prediction (of the ranks: Spearman's)."""
    if len(x) < MIN_CROSS_SECTION or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return _finite(_row_correlations(x[None], y[None])[0])


def _mean(values: Array) -> float | None:
    return _finite(np.mean(values)) if len(values) else None


def _std(values: Array) -> float | None:
    return _finite(np.std(values, ddof=1)) if len(values) >= 2 else None


def _ratio(num: float | None, den: float | None) -> float | None:
    return _finite(num / den) if num is not None and den else None


def _finite(value: float | np.floating[Any]) -> float | None:
    return float(value) if np.isfinite(value) else None
