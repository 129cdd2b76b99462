"""Trade sweeps: the grid over the engine's options is parsed with clear refusals, each option
reaches the part of the setup it names, and the runs made in the pool equal the same runs made
one by one, ranked by the figure asked for."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np
import pytest

from app.market.calendar import IST_OFFSET
from app.market.instrument_master.specs import TradingSpec, TradingSpecs
from app.predictor.backtest import Aligned
from app.predictor.errors import BadSweep
from app.predictor.skill import SkillConfig
from app.trading.backtest import TradeSetup, run_trade_backtest
from app.trading.brokers.paper import PaperConfig
from app.trading.costs import CostModel
from app.trading.enums import TradeStatus
from app.trading.risk import RiskLimits
from app.trading.strategy import StrategyConfig
from app.trading.sweep import Figures, TradeRun, parse_trade_grid, ranked_runs, run_trade_sweep, with_options
from tests.trading.test_backtest import MINUTE, aligned, simulated

BASE = TradeSetup(
    strategy=StrategyConfig(skill=SkillConfig(gate=False)),  # a random walk: no skill to find, so the gate off
    limits=RiskLimits(),
    costs=CostModel(),
    paper=PaperConfig(),
)


def test_the_grid_is_every_combination_and_each_option_reaches_its_place() -> None:
    grid = parse_trade_grid(["stop_vol=1,2.5", "max_open_trades=2", "slippage_bps=0,3", "horizons=1,1+5"])
    assert len(grid) == 8
    assert grid[0] == {"stop_vol": 1.0, "max_open_trades": 2, "slippage_bps": 0.0, "horizons": [1]}
    options = {
        "stop_vol": 2.5,
        "min_calibration_n": 40,
        "cooldown": 0.0,
        "slippage_bps": 3.0,
        "horizons": [1, 5],
        "calib_halflife": 50.0,
        "model": "ewma",
    }
    setup = with_options(BASE, options)
    assert (setup.strategy.stop_vol, setup.strategy.min_calibration_n) == (2.5, 40)
    assert setup.strategy.skill == BASE.strategy.skill and setup.strategy.target_vol == BASE.strategy.target_vol
    assert (setup.limits.cooldown, setup.limits.max_open_trades) == (0.0, BASE.limits.max_open_trades)
    assert setup.strategy.slippage_bps == setup.paper.slippage_bps == 3.0  # the threshold counts what fills
    assert (setup.horizons, setup.calib_halflife, setup.model_kind) == ((1, 5), 50.0, "ewma")
    assert with_options(BASE, {}) == BASE


@pytest.mark.parametrize(
    ("specs", "name", "says"),
    [
        (["stop=1,2"], "stop", "unknown sweep parameter 'stop'; one of stop_vol, target_vol"),
        (["stop_vol=1,0"], "stop_vol", "bad value '0': cost_multiple and trail_vol must be >= 0"),
        (["min_hit_rate=1.5"], "min_hit_rate", "bad value '1.5'"),
        (["max_open_trades=2.5"], "max_open_trades", "bad value '2.5'"),
        (["max_daily_loss=-1"], "max_daily_loss", "bad value '-1': must be > 0"),
        (["slippage_bps=5000"], "slippage_bps", "bad value '5000': slippage_bps must be in [0, 1000]"),
        (["model=ridge,magic"], "model", "bad value 'magic': one of"),
        (["horizons=0"], "horizons", "bad value '0'"),
        (["cooldown=1", "cooldown=2"], "cooldown", "given twice"),
    ],
)
def test_a_bad_spec_is_refused_naming_it(specs: list[str], name: str, says: str) -> None:
    with pytest.raises(BadSweep) as refused:
        parse_trade_grid(specs)
    assert refused.value.name == name and says in str(refused.value), str(refused.value)


def test_runs_in_the_pool_equal_single_runs_and_are_ranked() -> None:
    data = aligned(simulated(2, instruments=2, seed=5))
    grid = parse_trade_grid(["stop_vol=0.5,2", "max_daily_loss=300,10000"])
    base = replace(BASE, specs={data.instruments[0]: TradingSpec(0.1, 1)})
    told: list[int] = []
    runs = run_trade_sweep(data, "1m", grid, base=base, workers=2, on_done=told.append)
    assert [run.options for run in runs] == grid and told == [1, 2, 3, 4]  # a command's progress
    assert all(run.holdout is None for run in runs)
    for options, run in zip(grid, runs, strict=True):
        setup = with_options(base, options)
        alone = asyncio.run(
            run_trade_backtest(
                data,
                MINUTE,
                strategy=setup.strategy,
                limits=setup.limits,
                costs=setup.costs,
                paper=setup.paper,
                horizons=setup.horizons,
                model_kind=setup.model_kind,
                calib_halflife=setup.calib_halflife,
                vol_span=setup.vol_span,
                specs=TradingSpecs(setup.specs),
                after_halt=setup.after_halt,
            )
        )
        assert run == TradeRun(options, Figures.of(alone.performance, len(alone.halts)))
        assert run.figures.trades == sum(t.status is TradeStatus.CLOSED for t in alone.trades) > 0
        on_the_tick = {
            round(t.entry / 0.1, 6) % 1 == 0 for t in alone.trades if t.instrument_key == data.instruments[0]
        }
        assert on_the_tick == {True}  # the instrument master's tick reached the worker
    assert len({(run.figures.trades, run.figures.net_pnl) for run in runs}) == len(grid)  # each option changed the run
    assert any(run.figures.halts for run in runs if run.options["max_daily_loss"] == 300)

    by_sharpe = [run.figures.sharpe for run in ranked_runs(runs, "sharpe")]
    known = [s for s in by_sharpe if s is not None]
    assert known == sorted(known, reverse=True) and by_sharpe[: len(known)] == known  # None last
    shallowest_first = [run.figures.max_drawdown_pct for run in ranked_runs(runs, "max_drawdown_pct")]
    assert shallowest_first == sorted(shallowest_first)
    with pytest.raises(BadSweep, match="unknown figure 'dm_sq_stat' to rank by; one of sharpe"):
        ranked_runs(runs, "dm_sq_stat")


def test_held_out_sessions_are_measured_apart_and_the_sessions_before_as_a_run_of_them_alone() -> None:
    """The engine is causal: a run's first session trades as a run over that session alone does,
    so the figures before the holdout equal that run's; the two parts add up to the whole."""
    data = aligned(simulated(2, instruments=2, seed=5))
    sessions = (data.open_ts + IST_OFFSET) // 86_400
    second = int(np.flatnonzero(sessions != sessions[0])[0])
    holdout_from = int(sessions[second] * 86_400 - IST_OFFSET)  # the second session's IST midnight
    grid = parse_trade_grid(["stop_vol=0.5,2"])
    split = run_trade_sweep(data, "1m", grid, base=BASE, holdout_from=holdout_from, workers=1)
    whole = run_trade_sweep(data, "1m", grid, base=BASE, workers=1)
    first_day = Aligned(
        data.instruments,
        data.open_ts[:second],
        data.close_ts[:second],
        {field: values[:second] for field, values in data.ohlcv.items()},
    )
    alone = run_trade_sweep(first_day, "1m", grid, base=BASE, workers=1)
    for before_and_after, all_of_it, first_session in zip(split, whole, alone, strict=True):
        assert before_and_after.holdout is not None and before_and_after.figures == first_session.figures
        assert before_and_after.figures.trades + before_and_after.holdout.trades == all_of_it.figures.trades
        total = before_and_after.figures.net_pnl + before_and_after.holdout.net_pnl
        assert total == pytest.approx(all_of_it.figures.net_pnl, abs=1e-6)
        assert before_and_after.holdout.trades > 0
        public = before_and_after.public()
        assert (
            public["holdout"]["trades"] == before_and_after.holdout.trades
            and public["sharpe"] == first_session.figures.sharpe
        )
