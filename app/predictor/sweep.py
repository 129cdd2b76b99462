"""Sweeps: the backtest over a grid of its own options, on data loaded once, runs over the cores.

A grid is given as `name=v1,v2,...` pairs (`horizons=1,5,15 calib_halflife=50,100`): one run per
combination. A value of a list option (horizons, models) is one run's list, `+` joining its items
(`models=ridge,ridge+ewma`). The runs' evaluations are ranked by one named figure.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.market.intervals import parse_interval
from app.predictor.backtest import Aligned, run_backtest
from app.predictor.config import PredictorConfig
from app.predictor.errors import BadSweep
from app.predictor.evaluation import Evaluation, evaluate_all
from app.predictor.models import MODEL_KINDS

Options = dict[str, Any]

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


def parse_grid(specs: Sequence[str]) -> list[Options]:
    """Every combination of the `name=v1,v2,...` specs; BadSweep names a bad name or value."""
    axes: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = (part.strip() for part in spec.partition("="))
        if not sep or not name or not values:
            raise BadSweep(spec, f"expected name=v1,v2,... (e.g. horizons=1,5), got {spec!r}")
        if name not in SWEEPABLE:
            raise BadSweep(name, f"unknown sweep parameter {name!r}; one of {', '.join(SWEEPABLE)}")
        if name in axes:
            raise BadSweep(name, f"sweep parameter {name!r} given twice")
        axes[name] = [_value(name, text.strip()) for text in values.split(",")]
    return [dict(zip(axes, combination, strict=True)) for combination in itertools.product(*axes.values())]


def _value(name: str, text: str) -> Any:
    try:
        return SWEEPABLE[name](text)
    except ValidationError as e:
        raise BadSweep(name, f"sweep {name}: bad value {text!r}: {e.errors()[0]['msg']}") from e
    except ValueError as e:
        raise BadSweep(name, f"sweep {name}: bad value {text!r}: {e}") from e


@dataclass(frozen=True, slots=True)
class SweepResult:
    """One run's options and the evaluation of one of its (model, horizon)s."""

    options: Options
    evaluation: Evaluation


def run_sweep(
    data: Aligned,
    interval: str,
    grid: Sequence[Options],
    *,
    base: Mapping[str, Any],
    round_trip: float,
    workers: int | None = None,
) -> list[SweepResult]:
    """Backtest every grid point (over `base` options) in a process pool, `workers` processes
    (default: the cores); CPU-bound, call it off the event loop."""
    workers = max(1, min(len(grid), workers or os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers, initializer=_receive, initargs=(data,)) as pool:
        futures = [pool.submit(_run, interval, {**base, **options}, round_trip) for options in grid]
        return [
            SweepResult(options, evaluation)
            for options, future in zip(grid, futures, strict=True)
            for evaluation in future.result()
        ]


_worker_data: Aligned | None = None
"""The sweep's candles inside a pool worker, set once by the pool's initializer: the data crosses
to each worker once (under fork, not at all), not once per run."""


def _receive(data: Aligned) -> None:
    global _worker_data
    _worker_data = data


def _run(interval: str, options: Options, round_trip: float) -> list[Evaluation]:
    assert _worker_data is not None, "run only in a sweep's pool worker"
    # one thread: the pool already has a worker on each core
    report = run_backtest(_worker_data, parse_interval(interval), evaluate=True, threads=1, **options)
    return evaluate_all(report.panels(), round_trip=round_trip, threads=1)


def rank_direction(by: str) -> float:
    """-1 where higher values of the figure `by` rank first, 1 where lower ones do."""
    if by not in RANK_FIGURES:
        raise BadSweep(by, f"unknown figure {by!r} to rank by; one of {', '.join(RANK_FIGURES)}")
    return -1.0 if RANK_FIGURES[by] else 1.0


def ranked(results: Sequence[SweepResult], by: str) -> list[SweepResult]:
    """Best first by the figure `by` (one of RANK_FIGURES); runs without it come last."""
    sign = rank_direction(by)

    def key(result: SweepResult) -> tuple[bool, float]:
        value = getattr(result.evaluation, by)
        return (value is None, sign * value if value is not None else 0.0)

    return sorted(results, key=key)
