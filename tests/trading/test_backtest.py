"""`signaldesk backtest --trade`: the live engine on paper over stored candles, and its report."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
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
from app.trading.backtest import run_trade_backtest
from app.trading.brokers.paper import PaperConfig
from app.trading.costs import CostModel
from app.trading.risk import RiskLimits
from app.trading.strategy import StrategyConfig

MINUTE = CANONICAL["1m"]


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
    assert report.trades > 10 and report.days == 3 and report.bars == 3 * 375
    assert report.events["hft.entry"] == report.events["hft.exit"] == report.trades
    assert sum(report.by_reason.values()) == report.trades
    assert report.net_pnl == pytest.approx(report.gross_pnl - report.charges)
    assert report.charges > 0 and 0 <= report.wins <= report.trades
    assert report.max_drawdown >= max(0.0, -report.net_pnl) - 1e-6
    assert 0 < report.exposure < 1 and report.sharpe is not None


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
        strategy=StrategyConfig(min_calibration_n=5, skill=SkillConfig(gate=False)),
        limits=RiskLimits(),
        costs=CostModel(),
        paper=PaperConfig(),
        model_kind="ewma",
    )
    assert report.trades > 5 and report.net_pnl > 0 and report.gross_pnl > report.charges


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
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALDESK_")}
    args = [
        sys.executable,
        "-m",
        "app",
        "backtest",
        "--trade",
        "--instruments",
        ",".join(bars[0].instruments),
        "--interval",
        "1m",
        "--data-dir",
        str(data_dir),
    ]
    result = subprocess.run([*args, "--json"], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["bars"] == 375 and report["trades"] == report["events"].get("hft.exit", 0)
    assert {"net_pnl", "win_rate", "max_drawdown", "sharpe", "exposure", "charges"} <= set(report)
    table = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert table.returncode == 0 and "net PnL after costs" in table.stdout and "exposure" in table.stdout
    assert "skill gate per pair" in table.stdout and "predictions skipped" in table.stdout
    assert {p["state"] for p in report["skill"]} <= {"untested", "no_skill", "skilled"} and "skipped" in report
    bad = subprocess.run([*args, "--model", "magic"], capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and "--model 'magic'" in bad.stderr
