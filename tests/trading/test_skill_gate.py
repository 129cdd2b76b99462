"""The skill gate: a market with a planted edge is traded at a profit after costs; an honest
random walk is (almost) not traded; live, the first entries wait for the pair's skill."""

from __future__ import annotations

from typing import Any

import httpx
from websockets.asyncio.client import connect

from app.market.intervals import CANONICAL
from app.trading.backtest import TradeReport, run_trade_backtest
from app.trading.brokers.paper import PaperConfig
from app.trading.costs import CostModel
from app.trading.risk import RiskLimits
from app.trading.strategy import StrategyConfig
from tests.support.server import ServerProcess
from tests.support.ws import recv_ready
from tests.trading.live import Stream, post, status
from tests.trading.test_backtest import aligned, simulated

SESSIONS = 8  # one instrument, 1m bars: 3,000 bars, two horizons; stable for the seed, a few seconds
RELIANCE = "NSE_EQ|INE002A01018"


async def backtest(edge_bps: float) -> TradeReport:
    return await run_trade_backtest(
        aligned(simulated(SESSIONS, instruments=1, seed=0, edge_bps=edge_bps)),
        CANONICAL["1m"],
        strategy=StrategyConfig(),  # the gate as shipped: alpha 0.05, window 500, 100 resolutions
        limits=RiskLimits(),
        costs=CostModel(),
        paper=PaperConfig(),
        horizons=(5, 15),
    )


async def test_a_planted_edge_gains_skill_and_earns_after_costs() -> None:
    report = await backtest(edge_bps=3.0)
    perf = report.performance
    assert perf.trades >= 50 and perf.net_pnl > 0 and perf.gross_pnl > perf.charges
    assert any(p["first_skilled"] is not None for p in report.skill)
    assert report.skipped["skill_untested"] > 0  # nothing traded before the record was long enough


async def test_a_random_walk_has_no_skill_and_is_hardly_traded() -> None:
    report = await backtest(edge_bps=0.0)
    assert report.performance.trades <= 5 and report.performance.net_pnl >= -2_000.0  # of 1,000,000 capital
    assert report.skipped["no_skill"] > 1_000
    assert all(p["state"] != "skilled" for p in report.skill)


def skill_of(answer: dict[str, Any], key: str, h: int) -> dict[str, Any]:
    (row,) = [p for p in answer["skill"] if (p["instrument_key"], p["horizon_steps"]) == (key, h)]
    return row


async def test_live_the_first_entries_wait_for_the_pair_to_turn_skilled(server_factory) -> None:  # type: ignore[no-untyped-def]
    """The simulated market with an edge, the predictor and the paper engine in a real server."""
    env = {
        "SIGNALDESK_MARKET_SPEED": "1200",  # 20 one-minute bars a second
        "SIGNALDESK_MARKET_SEED": "7",
        "SIGNALDESK_MARKET_EDGE_BPS": "15",  # a strong edge: skilled within ~40 bars (ewma, this seed)
        "SIGNALDESK_HFT_SKILL_WINDOW": "100",
        "SIGNALDESK_HFT_SKILL_MIN_RESOLUTIONS": "30",
        "SIGNALDESK_HFT_COOLDOWN": "0",
    }
    server: ServerProcess = server_factory(env=env)
    server.start(timeout=90)
    async with connect(server.ws("hft")) as ws:
        await recv_ready(ws)
        assert post(server, "start").status_code == 200
        cfg = {"horizons": [1], "model_kind": "ewma"}
        started = server.start_predictor({"instruments": [RELIANCE], "cfg": cfg})
        assert started.status_code == 200, started.text
        await Stream(ws).until(lambda ev: any(e["type"] == "hft.entry" for e in ev), timeout=120)

    engine = status(server)
    pair = skill_of(engine, RELIANCE, 1)
    assert pair["first_skilled"] is not None and pair["spells"] >= 1
    assert engine["skipped"]["skill_untested"] > 0  # predictions came, and waited for the record
    trades = httpx.get(f"{server.http}/api/hft/trades", params={"instrument_key": RELIANCE}).json()["trades"]
    assert min(t["entry_ts"] for t in trades) >= pair["first_skilled"]
    predictor = skill_of(httpx.get(f"{server.http}/api/predictor/status").json(), RELIANCE, 1)
    assert predictor["n"] >= 30 and predictor["model_kind"] == "ewma"
