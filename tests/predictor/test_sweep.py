"""Sweeps: the grid is parsed with clear refusals, and a pooled run equals the runs made one by one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.predictor.backtest import Aligned, align, run_backtest
from app.predictor.errors import BadSweep
from app.predictor.evaluation import evaluate_all, split_panels
from app.predictor.sweep import parse_grid, ranked, run_sweep
from tests.predictor.synthetic import MINUTE, random_walk


def test_the_grid_is_every_combination_of_the_given_values() -> None:
    grid = parse_grid(["horizons=1,5,1+5", "calib_halflife=50,100", "models=ridge+zero"])
    assert len(grid) == 6
    assert grid[0] == {"horizons": [1], "calib_halflife": 50.0, "models": ["ridge", "zero"]}
    assert grid[-1] == {"horizons": [1, 5], "calib_halflife": 100.0, "models": ["ridge", "zero"]}


@pytest.mark.parametrize(
    ("specs", "name", "says"),
    [
        (["horizon=1,5"], "horizon", "unknown sweep parameter 'horizon'; one of horizons"),
        (["horizons=1,x"], "horizons", "bad value 'x'"),
        (["horizons=0"], "horizons", "bad value '0': Input should be greater than or equal to 1"),
        (["calib_halflife=-3"], "calib_halflife", "bad value '-3'"),
        (["models=ridge,magic"], "models", "bad value 'magic'"),
        (["horizons=1", "horizons=5"], "horizons", "given twice"),
        (["horizons"], "horizons", "expected name=v1,v2"),
    ],
)
def test_a_bad_spec_is_refused_naming_it(specs: list[str], name: str, says: str) -> None:
    with pytest.raises(BadSweep, match=None) as refused:
        parse_grid(specs)
    assert refused.value.name == name and says in str(refused.value)


STAMPS = 1_767_225_600 + 60 * np.arange(240)


def random_market() -> Aligned:
    """Six instruments' random walks over 240 one-minute bars (STAMPS)."""
    closes = random_walk(len(STAMPS), 6, seed=9)
    frames = {
        f"NSE_EQ|T{j}": pd.DataFrame(
            {"ts": STAMPS, **{c: closes[:, j] for c in ("open", "high", "low", "close")}}
        ).assign(volume=1.0)
        for j in range(closes.shape[1])
    }
    return align(frames, MINUTE)


def test_runs_in_the_pool_equal_single_runs_and_are_ranked() -> None:
    data = random_market()
    grid = parse_grid(["horizons=1,3", "calib_halflife=20,200"])
    results = run_sweep(data, "1m", grid, base={"models": ["ridge", "ewma"]}, round_trip=0.0005, workers=2)
    assert len(results) == len(grid) * 2  # two models per run
    for options in grid:
        alone = evaluate_all(
            run_backtest(data, MINUTE, models=["ridge", "ewma"], evaluate=True, **options).panels(), round_trip=0.0005
        )
        assert [r.evaluation for r in results if r.options == options] == alone
    best = ranked(results, "ic_ir")
    figures = [r.evaluation.ic_ir for r in best]
    assert None not in figures and figures == sorted(figures, reverse=True)
    lowest_first = [r.evaluation.dm_sq_stat for r in ranked(results, "dm_sq_stat")]
    assert lowest_first == sorted(lowest_first)  # type: ignore[type-var]
    with pytest.raises(BadSweep, match="unknown figure 'hit'"):
        ranked(results, "hit")


def test_held_out_anchors_are_evaluated_apart_and_ranked_on_the_ones_before() -> None:
    data = random_market()
    at = int(STAMPS[150])
    panels = run_backtest(data, MINUTE, models=["ridge", "ewma"], evaluate=True).panels()
    before, after = split_panels(panels, at)
    for whole, head, tail in zip(panels, before, after, strict=True):
        assert (head.ts_pred < at).all() and (tail.ts_pred >= at).all()
        for column in ("ts_pred", "ts_target", "pred", "actual"):
            joined = np.concatenate([getattr(head, column), getattr(tail, column)])
            np.testing.assert_array_equal(joined, getattr(whole, column))
    one_horizon = [p for p in before if p.horizon == before[0].horizon]
    assert len(one_horizon) == 2 and one_horizon[0].actual is one_horizon[1].actual  # outcomes ranked once

    grid = parse_grid(["calib_halflife=20,200"])
    results = run_sweep(
        data, "1m", grid, base={"models": ["ridge", "ewma"]}, round_trip=0.0005, holdout_from=at, workers=2
    )
    for options in grid:
        panels = run_backtest(data, MINUTE, models=["ridge", "ewma"], evaluate=True, **options).panels()
        head, tail = split_panels(panels, at)
        mine = [r for r in results if r.options == options]
        assert [r.evaluation for r in mine] == evaluate_all(head, round_trip=0.0005)
        assert [r.holdout for r in mine] == evaluate_all(tail, round_trip=0.0005)
    assert all(r.holdout is not None and r.holdout.anchors < r.evaluation.anchors for r in results)
    by_ic_ir = [r.evaluation.ic_ir for r in ranked(results, "ic_ir")]
    assert by_ic_ir == sorted(by_ic_ir, reverse=True)  # type: ignore[type-var]
