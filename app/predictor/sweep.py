"""Sweeps: the backtest over a grid of its own options, on data loaded once, runs over the cores.

A grid is given as `name=v1,v2,...` pairs (`horizons=1,5,15 calib_halflife=50,100`): one run per
combination. A value of a list option (horizons, models) is one run's list, `+` joining its items
(`models=ridge,ridge+ewma`). The runs' evaluations are ranked by one named figure.

The grid, the pool and the ranking serve the trade backtest's sweeps too (app.trading.sweep),
with their own options and figures.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from pydantic import ValidationError

from app.market.intervals import parse_interval
from app.predictor.backtest import Aligned, run_backtest
from app.predictor.config import PredictorConfig
from app.predictor.errors import BadSweep
from app.predictor.evaluation import Evaluation, evaluate_all, split_panels
from app.predictor.models import MODEL_KINDS

Options = dict[str, Any]
T = TypeVar("T")
R = TypeVar("R")

RANK_FIGURES: dict[str, bool] = {
    "ic_mean": True,
    "ic_ir": True,
    "rank_ic_mean": True,
    "rank_ic_ir": True,
    "pooled_ic": True,
    "pooled_rank_ic": True,
    "dm_sq_stat": False,
    "dm_abs_stat": False,
    "mase_zero": False,
    "mase_persistence": False,
    "long_short_gross": True,
    "long_short_net": True,
}
"""Figures a sweep can be ranked by, and whether higher is better (a negative DM statistic: the
model's loss is below the zero model's)."""


def _horizons(text: str) -> list[int]:
    return PredictorConfig(horizons=[int(item) for item in text.split("+")]).horizons


def _calib_halflife(text: str) -> float:
    return PredictorConfig(calib_halflife=float(text)).calib_halflife


def _models(text: str) -> list[str]:
    kinds = text.split("+")
    unknown = [kind for kind in kinds if kind not in MODEL_KINDS]
    if unknown or len(set(kinds)) != len(kinds):
        raise ValueError(f"models are distinct names among {', '.join(MODEL_KINDS)}")
    return kinds


SWEEPABLE = {"horizons": _horizons, "calib_halflife": _calib_halflife, "models": _models}
"""run_backtest's options, each with the parser of one value."""


def parse_grid(specs: Sequence[str], sweepable: Mapping[str, Callable[[str], Any]] = SWEEPABLE) -> list[Options]:
    """Every combination of the `name=v1,v2,...` specs, each value read by its parser in
    `sweepable`; BadSweep names a bad name or value (a parser's ValueError says what is wrong)."""
    axes: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = (part.strip() for part in spec.partition("="))
        if not sep or not name or not values:
            raise BadSweep(spec, f"expected name=v1,v2,... (e.g. horizons=1,5), got {spec!r}")
        if name not in sweepable:
            raise BadSweep(name, f"unknown sweep parameter {name!r}; one of {', '.join(sweepable)}")
        if name in axes:
            raise BadSweep(name, f"sweep parameter {name!r} given twice")
        axes[name] = [_value(sweepable[name], name, text.strip()) for text in values.split(",")]
    return [dict(zip(axes, combination, strict=True)) for combination in itertools.product(*axes.values())]


def _value(parse: Callable[[str], Any], name: str, text: str) -> Any:
    try:
        return parse(text)
    except ValidationError as e:
        raise BadSweep(name, f"sweep {name}: bad value {text!r}: {e.errors()[0]['msg']}") from e
    except ValueError as e:
        raise BadSweep(name, f"sweep {name}: bad value {text!r}: {e}") from e


@dataclass(frozen=True, slots=True)
class SweepResult:
    """One run's options and the evaluation of one of its (model, horizon)s: over the anchors
    before the holdout (every anchor when there is none; what the runs are ranked by) and over the
    held-out anchors (`holdout`)."""

    options: Options
    evaluation: Evaluation
    holdout: Evaluation | None = None


def run_sweep(
    data: Aligned,
    interval: str,
    grid: Sequence[Options],
    *,
    base: Mapping[str, Any],
    round_trip: float,
    holdout_from: int | None = None,
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[SweepResult]:
    """Backtest every grid point (over `base` options) in a process pool, `workers` processes
    (default: the cores); CPU-bound, call it off the event loop. `holdout_from` (epoch s): the
    anchors from then on are evaluated apart (`split_panels`). `on_done`: see `over_the_cores`."""
    work = partial(_evaluations, interval, base, round_trip, holdout_from)
    runs = over_the_cores(data, work, grid, workers, on_done)
    return [
        SweepResult(options, evaluation, holdout)
        for options, evaluations in zip(grid, runs, strict=True)
        for evaluation, holdout in evaluations
    ]


def over_the_cores(
    data: Aligned,
    work: Callable[[Aligned, Options], R],
    grid: Sequence[Options],
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[R]:
    """`work(data, options)` for every grid point, in a pool of `workers` processes (default: the
    cores), in the grid's order. `work` must pickle (a module's function, or a partial of one).
    `on_done` is told how many runs are done, as each ends (a command's progress)."""
    workers = max(1, min(len(grid), workers or os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers, initializer=_receive, initargs=(data,)) as pool:
        futures = [pool.submit(_on_the_data, work, options) for options in grid]
        if on_done is not None:
            for done, _ in enumerate(as_completed(futures), 1):
                on_done(done)
        return [future.result() for future in futures]


_worker_data: Aligned | None = None
"""The sweep's candles inside a pool worker, set once by the pool's initializer: the data crosses
to each worker once (under fork, not at all), not once per run."""


def _receive(data: Aligned) -> None:
    global _worker_data
    _worker_data = data


def _on_the_data(work: Callable[[Aligned, Options], R], options: Options) -> R:
    assert _worker_data is not None, "run only in a sweep's pool worker"
    return work(_worker_data, options)


def _evaluations(
    interval: str, base: Mapping[str, Any], round_trip: float, holdout_from: int | None, data: Aligned, options: Options
) -> list[tuple[Evaluation, Evaluation | None]]:
    # one thread: the pool already has a worker on each core
    report = run_backtest(data, parse_interval(interval), evaluate=True, threads=1, **{**base, **options})
    if holdout_from is None:
        return [(evaluation, None) for evaluation in evaluate_all(report.panels(), round_trip=round_trip, threads=1)]
    before, after = split_panels(report.panels(), holdout_from)
    return list(
        zip(
            evaluate_all(before, round_trip=round_trip, threads=1),
            evaluate_all(after, round_trip=round_trip, threads=1),
            strict=True,
        )
    )


def rank_direction(by: str, figures: Mapping[str, bool] = RANK_FIGURES) -> float:
    """-1 where higher values of the figure `by` rank first, 1 where lower ones do (`figures`:
    each figure a sweep can be ranked by, and whether higher is better)."""
    if by not in figures:
        raise BadSweep(by, f"unknown figure {by!r} to rank by; one of {', '.join(figures)}")
    return -1.0 if figures[by] else 1.0


def ranked(results: Sequence[SweepResult], by: str) -> list[SweepResult]:
    """Best first by the figure `by` (one of RANK_FIGURES); runs without it come last."""
    return ranked_by(results, by, lambda result: getattr(result.evaluation, by), RANK_FIGURES)


def ranked_by(items: Sequence[T], by: str, value: Callable[[T], float | None], figures: Mapping[str, bool]) -> list[T]:
    """`items` best first by their `value` of the figure `by` (one of `figures`); None last."""
    sign = rank_direction(by, figures)

    def key(item: T) -> tuple[bool, float]:
        figure = value(item)
        return (figure is None, sign * figure if figure is not None else 0.0)

    return sorted(items, key=key)
