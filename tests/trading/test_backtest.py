"""`signaldesk backtest --trade`: the live engine on paper over stored candles, and its report."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.market.bars import BarSet
from app.market.calendar import NseCalendar
from app.market.candles import CandleStore
from app.market.clock import ManualClock, last_session_open
from app.market.intervals import CANONICAL
from app.market.simulated import SimulatedMarket, universe
from app.predictor.backtest import Aligned
from app.predictor.skill import SkillConfig
from app.storage.db import Database
from app.storage.migrate import upgrade_async
from app.trading.backtest import REPLAY_BUDGET, REPLAY_BYTES_PER_CELL, TradeReport, run_trade_backtest
from app.trading.brokers.paper import PaperConfig
from app.trading.costs import CostModel
from app.trading.enums import AfterHalt
from app.trading.memory_journal import MemoryJournal
from app.trading.risk import RiskLimits
from app.trading.strategy import StrategyConfig, ist_day
from tests.support.cli import signaldesk

MINUTE = CANONICAL["1m"]
NO_GATE = SkillConfig(gate=False)  # for the engine's mechanics on a random walk; the gate: test_skill_gate.py


def simulated(days: int, instruments: int = 5, seed: int = 11, edge_bps: float = 0.0) -> list[BarSet]:
    calendar = NseCalendar()
    start = last_session_open(calendar, time.time() - 30 * 86400)
    market = SimulatedMarket(
        ManualClock(start), instruments=universe(instruments), seed=seed, calendar=calendar, edge_bps=edge_bps
    )
    return list(itertools.islice(market.bars_from(start), 375 * days))


def aligned(bars: list[BarSet]) -> Aligned:
    return Aligned(
        bars[0].instruments,
        np.array([b.open_ts for b in bars]),
        np.array([b.close_ts for b in bars]),
        {n: np.stack([getattr(b, n) for b in bars]) for n in ("open", "high", "low", "close", "volume")},
    )


async def test_the_report_adds_up() -> None:
    report = await run_trade_backtest(
        aligned(simulated(3, edge_bps=3.0)),  # an edge: the skill gate lets trades through
        MINUTE,
        strategy=StrategyConfig(),
        limits=RiskLimits(),
        costs=CostModel(),
        paper=PaperConfig(),
    )
    perf = report.performance
    assert perf.trades > 10 and perf.sessions == 3 and report.bars == 3 * 375
    assert report.events["hft.entry"] == report.events["hft.exit"] == perf.trades == len(report.trades)
    assert sum(g.trades for g in perf.by_exit_reason) == perf.trades
    assert perf.net_pnl == pytest.approx(perf.gross_pnl - perf.charges)
    assert sum(perf.charges_by_kind.values()) == pytest.approx(perf.charges)  # the same cost model, split by kind
    assert perf.charges > 0 and 0 <= perf.wins <= perf.trades
    assert perf.max_drawdown.amount >= max(0.0, -perf.net_pnl) - 1e-6
    assert len(perf.equity) == report.bars and perf.equity[-1] == pytest.approx(perf.capital + perf.net_pnl)
    assert 0 < perf.exposure < 1 and perf.sharpe is not None
    # asyncio.run formats its task's result as it puts the SIGINT handler back: not every trade
    assert repr(report) == (
        f"TradeReport({', '.join(report.instruments)} 1m: {report.bars} bars, {perf.trades} trades, "
        f"{len(report.orders)} orders, 0 daily-loss halts)"
    )


async def test_an_uptrend_traded_on_momentum_makes_money_after_costs() -> None:
    n, keys = 300, ("NSE_EQ|A", "NSE_EQ|B")
    start = last_session_open(NseCalendar(), time.time() - 30 * 86400)
    rng = np.random.default_rng(3)
    close = 1000.0 * np.exp(np.cumsum(0.002 + 0.0005 * rng.standard_normal((n, 2)), axis=0))
    open_ = np.vstack([close[:1] / 1.002, close[:-1]])
    data = Aligned(
        keys,
        start + 60 * np.arange(n),
        start + 60 * np.arange(1, n + 1),
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.0002,
            "low": np.minimum(open_, close) * 0.9998,
            "close": close,
            "volume": np.full((n, 2), 1e5),
        },
    )
    report = await run_trade_backtest(
        data,
        MINUTE,
        # always "up" in a market that always rises is chance by the skill test (its calls are not
        # better than the up share): the gate off, the floor alone decides
        strategy=StrategyConfig(min_calibration_n=5, skill=NO_GATE),
        limits=RiskLimits(),
        costs=CostModel(),
        paper=PaperConfig(),
        model_kind="ewma",
    )
    perf = report.performance
    assert perf.trades > 5 and perf.net_pnl > 0 and perf.gross_pnl > perf.charges


async def test_the_run_holds_automatic_collection_off_and_gives_it_back() -> None:
    """A batch whose objects live to its end or die by reference counting (module docstring): no
    automatic collection runs while it trades; the collector is on again after, and runs what
    came due then (as the report is built: a collection or two, where the run with the collector
    on makes hundreds)."""
    data = aligned(simulated(2, edge_bps=3.0))
    collections: list[int] = []
    # a first run imports what the engine imports when first used (scipy.signal: its import
    # collects as it goes, a process's one-off): counted here is a run, not the process's start
    await run_trade_backtest(
        aligned(simulated(1)),
        MINUTE,
        strategy=StrategyConfig(),
        limits=RiskLimits(),
        costs=CostModel(),
        paper=PaperConfig(),
    )

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    assert gc.isenabled()
    gc.callbacks.append(note)
    try:
        report = await run_trade_backtest(
            data, MINUTE, strategy=StrategyConfig(), limits=RiskLimits(), costs=CostModel(), paper=PaperConfig()
        )
    finally:
        gc.callbacks.remove(note)
    assert report.trades and len(collections) <= 2 and gc.isenabled(), collections


def randomised(days: int, instruments: int, seed: int) -> Aligned:
    """The simulated market's sessions (its bar times), with prices of a random walk of random
    volatility per instrument and random bars missing."""
    times = aligned(simulated(days, instruments))
    rng = np.random.default_rng(seed)
    shape = times.ohlcv["close"].shape
    vol = rng.uniform(0.0005, 0.003, shape[1])
    close = rng.uniform(100, 3000, shape[1]) * np.exp(np.cumsum(vol * rng.standard_t(4, shape), axis=0))
    open_ = np.vstack([close[:1], close[:-1]]) * np.exp(vol * 0.3 * rng.standard_normal(shape))
    high = np.maximum(open_, close) * np.exp(np.abs(vol * rng.standard_normal(shape)))
    low = np.minimum(open_, close) * np.exp(-np.abs(vol * rng.standard_normal(shape)))
    gone = rng.random(shape) < 0.05
    ohlcv = {"open": open_, "high": high, "low": low, "close": close, "volume": np.full(shape, 1e4)}
    return Aligned(
        times.instruments, times.open_ts, times.close_ts, {k: np.where(gone, np.nan, v) for k, v in ohlcv.items()}
    )


async def both_ways(data: Aligned, **options: object) -> tuple[tuple[TradeReport, MemoryJournal], ...]:
    """The reference (the predictor stepped, the engine fed every bar) and the fast path (the
    predictions from the replay, the engine fed only the bars where something can act)."""
    runs = []
    for reference in (True, False):
        journal = MemoryJournal()
        report = await run_trade_backtest(
            data,
            MINUTE,
            costs=CostModel(),
            reference=reference,
            journal=journal,
            **options,  # type: ignore[arg-type]
        )
        runs.append((report, journal))
    return tuple(runs)


@pytest.mark.parametrize(
    ("seed", "fill_ratio", "after_halt", "model_kind"),
    [(1, 1.0, AfterHalt.RESUME_NEXT_SESSION, "ewma"), (2, 0.6, AfterHalt.STAY_HALTED, "ridge")],
)
async def test_the_fast_path_trades_exactly_as_the_reference(
    seed: int, fill_ratio: float, after_halt: AfterHalt, model_kind: str
) -> None:
    (every, every_journal), (fast, fast_journal) = await both_ways(
        randomised(3, 4, seed),
        strategy=StrategyConfig(  # many trades on a random walk: the skill gate off
            min_calibration_n=5, min_hit_rate=0.45, cost_multiple=0.3, trail_vol=0.8, skill=NO_GATE
        ),
        limits=RiskLimits(max_daily_loss=4_000.0, cooldown=120.0, max_open_trades=3),
        paper=PaperConfig(fill_ratio=fill_ratio),
        model_kind=model_kind,
        after_halt=after_halt,
    )
    assert every.stepped and not fast.stepped  # the predictions came from the replay ...
    assert fast.bars_fed < every.bars_fed == every.bars  # bars were skipped ...
    for table in ("hft_trades", "hft_orders", "hft_paper_account", "hft_paper_positions"):
        assert fast_journal.rows(table) == every_journal.rows(table), table  # ... and nothing changed
    assert {**fast.public(), "bars_fed": 0} == {**every.public(), "bars_fed": 0}
    assert every.performance.trades >= 10 and every.halts
    assert every.events["hft.trade_risk"] > every.performance.trades


async def test_with_the_skill_gate_the_fast_path_judges_trades_and_counts_exactly_as_the_reference() -> None:
    """The fast path judges the replay's predictions whole (app.trading.judged_replay): the
    calibration and skill each saw, and the strategy's verdict, as the live door gives them one
    event at a time, on a market with an edge where the gate opens and shuts."""
    (every, every_journal), (fast, fast_journal) = await both_ways(
        aligned(simulated(4, edge_bps=3.0)),
        strategy=StrategyConfig(skill=SkillConfig(window=300, min_resolutions=60)),
        limits=RiskLimits(),
        paper=PaperConfig(),
    )
    assert every.stepped and not fast.stepped
    for table in ("hft_trades", "hft_orders"):
        assert fast_journal.rows(table) == every_journal.rows(table), table
    assert fast.public() == {**every.public(), "bars_fed": fast.bars_fed}  # skipped counts and skill records too
    skipped = every.skipped
    assert every.performance.trades >= 10 and skipped["no_skill"] and skipped["skill_untested"]
    assert skipped["calibration_n"] and skipped["below_costs"] and skipped["hit_rate"]
    states = {pair["state"] for pair in every.skill}
    assert "skilled" in states and len(every.skill) == 10  # 5 instruments x 2 horizons


async def test_a_run_too_long_for_the_replay_s_memory_steps_the_predictor_and_trades_the_same() -> None:
    data = randomised(2, 3, seed=3)
    options = {
        "strategy": StrategyConfig(min_calibration_n=5, min_hit_rate=0.45, cost_multiple=0.3, skill=NO_GATE),
        "limits": RiskLimits(),
        "costs": CostModel(),
        "paper": PaperConfig(),
        "model_kind": "ewma",
    }
    runs = []
    for budget in (REPLAY_BUDGET, data.bars * 2 * REPLAY_BYTES_PER_CELL - 1):  # the second just too small
        journal = MemoryJournal()
        report = await run_trade_backtest(data, MINUTE, journal=journal, replay_budget=budget, **options)  # type: ignore[arg-type]
        runs.append((report, journal.rows("hft_trades"), journal.rows("hft_orders")))
    (replayed, *replayed_rows), (stepped, *stepped_rows) = runs
    assert not replayed.stepped and stepped.stepped
    assert replayed_rows == stepped_rows and replayed.performance.trades >= 5
    assert replayed.public() == stepped.public()


async def test_after_a_daily_loss_halt_the_desk_resumes_at_the_next_session_or_stays_halted() -> None:
    data = aligned(simulated(3))
    days = sorted({ist_day(ts) for ts in data.close_ts.tolist()})
    runs = {
        mode: await run_trade_backtest(
            data,
            MINUTE,
            strategy=StrategyConfig(skill=NO_GATE),  # trades (and losses) on a random walk: the skill gate off
            limits=RiskLimits(max_daily_loss=500.0),
            costs=CostModel(),
            paper=PaperConfig(),
            after_halt=mode,
        )
        for mode in AfterHalt
    }
    resumed, stayed = runs[AfterHalt.RESUME_NEXT_SESSION], runs[AfterHalt.STAY_HALTED]
    for report in (resumed, stayed):  # day one is the same either way: traded, then halted
        first = report.halts[0]
        assert first.date == days[0] and first.day_pnl <= -500.0 and "daily loss limit breached" in first.reason
        assert {g.key: g.trades for g in report.performance.by_exit_reason}["daily_loss"] >= 1
    assert stayed.halts[0].time == resumed.halts[0].time and stayed.halts[0].day_pnl == resumed.halts[0].day_pnl

    assert [h.resumed for h in stayed.halts] == [None] and stayed.public()["after_halt"] == "stay-halted"
    assert stayed.performance.trades == sum(g.trades for g in stayed.performance.by_exit_reason)
    assert stayed.events["hft.state"] == 1  # halted once, never resumed

    assert resumed.halts[0].resumed == days[1] and resumed.public()["after_halt"] == "resume-next-session"
    assert len(resumed.halts) >= 2 and {h.date for h in resumed.halts} > {days[0]}  # traded, and halted, again
    assert resumed.performance.trades > stayed.performance.trades
    assert resumed.public()["halts"][0] == {
        "date": days[0],
        "time": resumed.halts[0].time,
        "reason": resumed.halts[0].reason,
        "day_pnl": round(resumed.halts[0].day_pnl, 2),
        "resumed": days[1],
    }


def test_the_cli_runs_it_over_stored_candles(tmp_path: Path) -> None:
    bars = simulated(1, instruments=2)
    data_dir = tmp_path / "data"
    data_dir.mkdir()

    async def store() -> None:
        url = f"sqlite+aiosqlite:///{data_dir / 'signaldesk.sqlite3'}"
        await upgrade_async(url)
        db = Database(url)
        for i, key in enumerate(bars[0].instruments):
            frame = pd.DataFrame(
                {
                    "ts": [b.open_ts for b in bars],
                    **{f: [float(getattr(b, f)[i]) for b in bars] for f in ("open", "high", "low", "close", "volume")},
                }
            )
            await CandleStore(db).upsert(key, "1m", frame)
        await db.close()

    asyncio.run(store())
    args = ["backtest", "--trade", "--instruments", ",".join(bars[0].instruments), "--interval", "1m"]
    args += ["--data-dir", str(data_dir)]
    sheet = tmp_path / "tearsheet.html"
    result = signaldesk(*args, "--json", "--after-halt", "stay-halted", "--report", sheet, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert "<svg" in sheet.read_text() and "max drawdown" in sheet.read_text()
    perf = report["performance"]
    assert report["bars"] == 375 and perf["trades"] == len(report["trades"]) == report["events"].get("hft.exit", 0)
    assert len(perf["curve_ts"]) == len(perf["equity"]) == len(perf["drawdown"]) == 375  # the series, every bar
    assert {"sharpe", "sortino", "profit_factor", "charges_by_kind", "daily", "by_instrument"} <= set(perf)
    assert report["after_halt"] == "stay-halted" and isinstance(report["halts"], list)
    # the first trade in the red halts (a random walk: trades only with the skill gate off)
    strict = {"SIGNALDESK_HFT_MAX_DAILY_LOSS": "1", "SIGNALDESK_HFT_SKILL_GATE": "false"}
    table = signaldesk(*args, env=strict, timeout=120)
    assert table.returncode == 0 and "net PnL after costs" in table.stdout and "exposure" in table.stdout
    assert "Sharpe" in table.stdout and "n/a (one day)" in table.stdout  # one session: said plainly
    assert "resume-next-session" in table.stdout  # the default
    assert "daily-loss halts (IST)" in table.stdout and "daily loss limit breached" in table.stdout
    assert "skill gate per pair" in table.stdout and "predictions skipped" in table.stdout
    assert {p["state"] for p in report["skill"]} <= {"untested", "no_skill", "skilled"} and "skipped" in report
    bad = signaldesk(*args, "--model", "magic")
    assert bad.returncode == 2 and "--model 'magic'" in bad.stderr

    # a sweep: one run per grid point over the cores, ranked (app.trading.sweep holds the runs to single ones)
    grid = ["--sweep", "stop_vol=0.5,2", "max_daily_loss=1,10000", "--rank-by", "net_pnl"]
    swept = signaldesk(*args, *grid, "--json", env={"SIGNALDESK_HFT_SKILL_GATE": "false"}, timeout=120)
    assert swept.returncode == 0, swept.stderr
    sweep = json.loads(swept.stdout)
    assert sweep["rank_by"] == "net_pnl" and sweep["runs"] == len(sweep["results"]) == 4
    assert {(r["options"]["stop_vol"], r["options"]["max_daily_loss"]) for r in sweep["results"]} == {
        (0.5, 1.0),
        (0.5, 10000.0),
        (2.0, 1.0),
        (2.0, 10000.0),
    }
    pnl = [r["net_pnl"] for r in sweep["results"]]
    assert pnl == sorted(pnl, reverse=True) and {"sharpe", "max_drawdown_pct", "trades", "halts"} <= set(
        sweep["results"][0]
    )
    assert all(r["halts"] >= 1 for r in sweep["results"] if r["options"]["max_daily_loss"] == 1.0)
    for bad_grid, says in (  # the grid's own refusals: tests/trading/test_sweep.py
        (["--sweep", "stop_vol=1", "--rank-by", "ic_ir"], "unknown figure 'ic_ir' to rank by; one of sharpe"),
        (["--sweep", "stop_vol=1", "--report", sheet], "--report writes one run's tearsheet"),
        (
            ["--sweep", "stop_vol=1", "--holdout-from", "2020-01-01"],
            "the candles leave no session before it",
        ),  # one session
    ):
        bad = signaldesk(*args, *bad_grid)
        assert bad.returncode == 2 and says in bad.stderr, bad.stderr
    bad = signaldesk(*args, "--after-halt", "panic")
    assert bad.returncode == 2 and "--after-halt" in bad.stderr and "resume-next-session" in bad.stderr
