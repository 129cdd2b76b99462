"""Trade sweeps: the trade backtest over a grid of strategy, limit and predictor options.

`signaldesk backtest --trade --sweep stop_vol=1,1.5,2 target_vol=1,2` runs the trade backtest
(app.trading.backtest: the live engine on paper) once per combination, on candles loaded once,
in a process pool over the cores (the grid, the pool and the ranking are the forecast sweep's:
app.predictor.sweep), and ranks the runs by one performance figure (docs/performance.md). Each
run starts from the same `TradeSetup` (the settings and the command's options) with the
grid point's options replacing their fields; only its figures come back from the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from app.predictor.backtest import Aligned
from app.predictor.models import MODEL_KINDS
from app.predictor.sweep import SWEEPABLE as FORECAST_SWEEPABLE
from app.predictor.sweep import Options, over_the_cores, parse_grid, ranked_by
from app.trading.backtest import TradeReport, TradeSetup
from app.trading.brokers.paper import PaperConfig
from app.trading.costs import CostModel
from app.trading.errors import BadLimits
from app.trading.performance import Marks, Performance, measure
from app.trading.risk import RiskLimits
from app.trading.strategy import StrategyConfig, ist_day

STRATEGY_FIELDS = ("stop_vol", "target_vol", "trail_vol", "cost_multiple", "min_hit_rate", "min_calibration_n")
LIMIT_FIELDS = ("max_open_trades", "risk_per_trade", "max_notional_per_trade", "max_daily_loss", "cooldown")


def _strategy(name: str, kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        StrategyConfig(**{name: value})  # its check says what is wrong (a ValueError)
        return value

    return parse


def _limit(name: str, kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        try:
            RiskLimits(**{name: value})
        except BadLimits as e:
            raise ValueError(e.problems[name]) from e
        return value

    return parse


def _slippage(text: str) -> float:
    return PaperConfig(slippage_bps=float(text)).slippage_bps


def _model(text: str) -> str:
    if text not in MODEL_KINDS:
        raise ValueError(f"one of {', '.join(MODEL_KINDS)}")
    return text


TRADE_SWEEPABLE: dict[str, Callable[[str], Any]] = {
    **{name: _strategy(name, int if name == "min_calibration_n" else float) for name in STRATEGY_FIELDS},
    **{name: _limit(name, int if name == "max_open_trades" else float) for name in LIMIT_FIELDS},
    "slippage_bps": _slippage,
    "horizons": FORECAST_SWEEPABLE["horizons"],
    "calib_halflife": FORECAST_SWEEPABLE["calib_halflife"],
    "model": _model,
}
"""The options a trade sweep varies, each with the parser of one value: the strategy's and the
risk limits' (as their SIGNALDESK_HFT_* settings name them), the slippage (the paper broker's
and the strategy's threshold alike), the predictor's horizons and calibration half-life, and
the model the engine trades on."""


def parse_trade_grid(specs: Sequence[str]) -> list[Options]:
    """Every combination of the `name=v1,v2,...` specs over TRADE_SWEEPABLE (BadSweep when bad)."""
    return parse_grid(specs, TRADE_SWEEPABLE)


def with_options(setup: TradeSetup, options: Options) -> TradeSetup:
    """`setup` with a grid point's options (TRADE_SWEEPABLE's names) in place of its own."""
    strategy = {k: v for k, v in options.items() if k in STRATEGY_FIELDS}
    limits = {k: v for k, v in options.items() if k in LIMIT_FIELDS}
    setup = replace(setup, strategy=replace(setup.strategy, **strategy), limits=replace(setup.limits, **limits))
    if "slippage_bps" in options:  # the strategy's entry threshold counts what the paper broker fills at
        slippage = options["slippage_bps"]
        setup = replace(
            setup,
            strategy=replace(setup.strategy, slippage_bps=slippage),
            paper=replace(setup.paper, slippage_bps=slippage),
        )
    if "horizons" in options:
        setup = replace(setup, horizons=tuple(options["horizons"]))
    if "calib_halflife" in options:
        setup = replace(setup, calib_halflife=options["calib_halflife"])
    if "model" in options:
        setup = replace(setup, model_kind=options["model"])
    return setup


@dataclass(frozen=True, slots=True)
class Figures:
    """A run's figures over some of its sessions (docs/performance.md defines each;
    `max_drawdown_pct`: the deepest fall from a peak, percent of the peak; `halts`: daily-loss
    halts)."""

    trades: int
    net_pnl: float
    total_return: float
    cagr: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    max_drawdown_pct: float
    profit_factor: float | None
    expectancy: float | None
    win_rate: float | None
    charges: float
    exposure: float | None
    halts: int

    @classmethod
    def of(cls, p: Performance, halts: int) -> Figures:
        return cls(
            p.trades,
            p.net_pnl,
            p.total_return,
            p.cagr,
            p.sharpe,
            p.sortino,
            p.calmar,
            p.max_drawdown.pct,
            p.profit_factor,
            p.expectancy,
            p.win_rate,
            p.charges,
            p.exposure,
            halts,
        )


@dataclass(frozen=True, slots=True)
class TradeRun:
    """One grid point's options and its run's figures: over the sessions before the holdout
    (`figures`: every session when there is none, what the runs are ranked by) and over the
    held-out sessions (`holdout`)."""

    options: Options
    figures: Figures
    holdout: Figures | None = None

    def public(self) -> dict[str, Any]:
        held = None if self.holdout is None else asdict(self.holdout)
        return {"options": self.options, **asdict(self.figures), "holdout": held}


def split_run(
    options: Options, report: TradeReport, data: Aligned, capital: float, costs: CostModel, holdout_from: int | None
) -> TradeRun:
    """`report`'s figures, apart before and from `holdout_from` (epoch s; None: all of them
    together): the trades by their entry, their orders with them, the equity marked on each
    part's bars, each part on `capital` (sizing never depends on the account, so a part's rupees
    are what it made either way)."""
    if holdout_from is None:
        return TradeRun(options, Figures.of(report.performance, len(report.halts)))
    cut = int(np.searchsorted(data.open_ts, holdout_from))
    day = ist_day(holdout_from)
    parts = []
    for held, bars in ((False, slice(None, cut)), (True, slice(cut, None))):
        trades = [t for t in report.trades if (t.entry_ts >= holdout_from) is held]
        ids = {t.trade_id for t in trades}
        orders = [o for o in report.orders if o["trade_id"] in ids]
        marks = Marks(data.instruments, data.open_ts[bars], data.close_ts[bars], data.ohlcv["close"][bars])
        halts = sum((h.date >= day) is held for h in report.halts)
        parts.append(Figures.of(measure(trades, orders, capital=capital, costs=costs, marks=marks), halts))
    return TradeRun(options, parts[0], parts[1])


TRADE_RANK_FIGURES: dict[str, bool] = {
    "sharpe": True,
    "sortino": True,
    "calmar": True,
    "net_pnl": True,
    "total_return": True,
    "cagr": True,
    "profit_factor": True,
    "expectancy": True,
    "win_rate": True,
    "max_drawdown_pct": False,
}
"""Figures a trade sweep can be ranked by, and whether higher is better."""


def run_trade_sweep(
    data: Aligned,
    interval: str,
    grid: Sequence[Options],
    *,
    base: TradeSetup,
    holdout_from: int | None = None,
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[TradeRun]:
    """The trade backtest of every grid point (over `base`) in a process pool of `workers`
    processes (default: the cores), in the grid's order; CPU-bound, call it off the event loop.
    `holdout_from` (epoch s): the sessions from then on are held out, their figures apart
    (`split_run`). `on_done` is told how many runs are done, as each ends."""
    return over_the_cores(data, partial(_trade_run, interval, base, holdout_from), grid, workers, on_done)


def _trade_run(interval: str, base: TradeSetup, holdout_from: int | None, data: Aligned, options: Options) -> TradeRun:
    setup = with_options(base, options)
    report = asyncio.run(setup.run(data, interval))
    return split_run(options, report, data, setup.paper.capital, setup.costs, holdout_from)


def ranked_runs(runs: Sequence[TradeRun], by: str) -> list[TradeRun]:
    """Best first by the figure `by` (one of TRADE_RANK_FIGURES) before the holdout; runs without
    it come last."""
    return ranked_by(runs, by, lambda run: getattr(run.figures, by), TRADE_RANK_FIGURES)
