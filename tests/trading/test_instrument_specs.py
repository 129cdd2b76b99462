"""Tick and lot size per instrument (the instrument master's) in sizing, stops and targets, and
paper fills; instruments the master does not hold keep the 0.05 tick and lots of 1."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.events import PredictionCreated
from app.market.instrument_master.specs import TradingSpec, TradingSpecs
from app.market.instrument_master.store import InstrumentMaster
from app.market.instrument_master.sync import sync_master
from app.trading.brokers.paper import PaperBroker, PaperConfig, PaperState
from app.trading.costs import CostModel
from app.trading.enums import OrderStatus, Side
from app.trading.memory_journal import MemoryJournal
from app.trading.orders import OrderRequest
from app.trading.strategy import Strategy
from tests.market.instrument_master.sample import write_sample
from tests.trading.rig import make_rig
from tests.trading.stubs import LIMITS, RELIANCE, STRATEGY, TCS, make_desk, prediction

PRICES = {RELIANCE: 2900.0, TCS: 3900.0, "NSE_EQ|INE009A01021": 1500.0}
FUTURE = "NSE_FO|52301"  # lot 50, tick Rs 5 in the sample master; here: lot 50, tick 0.10
SPECS = TradingSpecs({RELIANCE: TradingSpec(0.10, 50), FUTURE: TradingSpec(0.10, 50)})


async def paper(config: PaperConfig) -> PaperBroker:
    async def load() -> PaperState | None:
        return None

    broker = PaperBroker(config=config, costs=CostModel(), journal=MemoryJournal(), load=load, specs=SPECS)
    await broker.connect()
    return broker


async def test_paper_fills_on_the_instruments_tick_in_whole_lots() -> None:
    broker = await paper(PaperConfig(slippage_bps=0.0))
    buy = await broker.place_order(OrderRequest(1, FUTURE, Side.BUY, 100, 2901.37, 0))
    assert (buy.status, buy.filled_qty, buy.avg_price) == (OrderStatus.FILLED, 100, 2901.4)  # up to the 0.10 tick
    sell = await broker.place_order(OrderRequest(2, FUTURE, Side.SELL, 50, 2901.37, 0))
    assert sell.avg_price == 2901.3  # down to the 0.10 tick
    odd = await broker.place_order(OrderRequest(3, FUTURE, Side.BUY, 30, 2901.0, 0))
    assert odd.status is OrderStatus.REJECTED
    assert odd.message == f"qty 30 is not a whole number of lots of 50 ({FUTURE})"
    reduce = await broker.place_order(OrderRequest(4, FUTURE, Side.SELL, 30, 2901.0, 0))  # reducing: always fills
    assert (reduce.status, (await broker.positions())[FUTURE].qty) == (OrderStatus.FILLED, 20)
    plain = await broker.place_order(OrderRequest(5, TCS, Side.BUY, 3, 3900.37, 0))  # not in the master
    assert (plain.status, plain.avg_price) == (OrderStatus.FILLED, 3900.4)  # the 0.05 tick: 3900.40
    assert (await broker.place_order(OrderRequest(6, TCS, Side.BUY, 1, 3900.32, 0))).avg_price == 3900.35


async def test_partial_paper_fills_are_whole_lots() -> None:
    broker = await paper(PaperConfig(slippage_bps=0.0, fill_ratio=0.5))
    result = await broker.place_order(OrderRequest(1, FUTURE, Side.BUY, 150, 100.0, 0))
    assert (result.status, result.filled_qty, result.message) == (OrderStatus.PARTIAL, 50, "100 of 150 cancelled")
    one = await broker.place_order(OrderRequest(2, FUTURE, Side.BUY, 50, 100.0, 0))
    assert (one.status, one.filled_qty) == (OrderStatus.FILLED, 50)  # at least one lot


def test_sizing_rounds_down_to_whole_lots_and_skips_below_one_lot() -> None:
    strategy = Strategy(replace(STRATEGY, stop_vol=1.0), CostModel(), SPECS)
    signal = PredictionCreated.model_validate(prediction(FUTURE, 0.05, ts_pred=0, h=1))
    sigma = 0.001  # stop distance 1.0 x 0.001 x 1000 = 1.0 rupee
    plan = strategy.plan(signal, 1000.0, sigma, replace(LIMITS, risk_per_trade=149.0))
    assert not isinstance(plan, str) and plan.qty == 100  # 149 shares -> 2 lots of 50
    assert strategy.plan(signal, 1000.0, sigma, replace(LIMITS, risk_per_trade=49.0)) == "lot_size"
    plain = PredictionCreated.model_validate(prediction(TCS, 0.05, ts_pred=0, h=1))
    plan = strategy.plan(plain, 1000.0, sigma, replace(LIMITS, risk_per_trade=49.0))
    assert not isinstance(plan, str) and plan.qty == 49  # lots of 1
    tight = strategy.plan(signal, 1000.0, 1e-9, replace(LIMITS, risk_per_trade=1000.0))
    assert not isinstance(tight, str) and tight.stop_distance == pytest.approx(0.2)  # two ticks of 0.10
    assert strategy.on_tick(FUTURE, 1000.07) == 1000.1 and strategy.on_tick(TCS, 1000.07) == 1000.05


async def test_the_engine_sizes_in_lots_and_sets_stop_and_target_on_the_tick() -> None:
    limits = replace(LIMITS, risk_per_trade=20_000.0, max_notional_per_trade=1_000_000.0)
    desk = await make_desk(specs=SPECS, limits=limits)
    await desk.warm(PRICES)
    desk.calibrate(RELIANCE)
    desk.predict(RELIANCE, 0.01)
    sigma = desk.engine.prices.volatility(RELIANCE)
    assert sigma is not None
    events = await desk.bar({**PRICES, RELIANCE: (2901.37, 2905.0, 2899.0, 2903.0)})
    entry, risk = events[0][1], events[1][1]
    distance = 1.5 * sigma * math.sqrt(5) * 2901.37
    shares = min(math.floor(20_000.0 / distance), math.floor(1_000_000.0 / 2901.37))
    assert shares >= 50 and entry["qty"] == shares // 50 * 50
    assert entry["entry"] == 2901.4  # the paper fill, up to the 0.10 tick
    assert risk["stop"] == round(round((2901.4 - distance) / 0.1) * 0.1, 6)
    assert risk["target"] == round(round((2901.4 + 2.0 * sigma * math.sqrt(5) * 2901.37) / 0.1) * 0.1, 6)


async def test_a_run_takes_ticks_and_lots_from_the_instrument_master_as_it_starts(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path / "data")
    try:
        await sync_master(InstrumentMaster(rig.db), file=write_sample(tmp_path / "NSE.json.gz"))
        await rig.service.start()
        engine = rig.service.engine
        assert engine is not None and isinstance(engine.venue, PaperBroker)
        assert engine.strategy.specs[RELIANCE] == TradingSpec(0.10, 1) == engine.venue.spec(RELIANCE)
        assert engine.venue.spec(TCS) == TradingSpec(0.10, 1) and engine.venue.spec("NSE_EQ|SIM00001") == TradingSpec()
        await rig.service.stop()
    finally:
        await rig.close()


def test_a_number_of_ticks_is_the_decimal_round_gives_to_the_bit() -> None:
    # TradingSpec.ticks divides the exact integer n x tick-in-millionths instead of round(n * tick, 6),
    # for any price up to Rs 10 crore (beyond, n * tick's own error reaches the sixth decimal)
    rng = np.random.default_rng(7)
    for tick in (0.05, 0.01, 0.1, 0.5, 1.0, 5.0, 0.005, 0.0025, 0.000001):
        spec = TradingSpec(tick)
        most = int(1e8 / tick)
        for n in rng.integers(-most, most, 20_000).tolist():
            assert spec.ticks(n) == round(n * tick, 6), (tick, n)
        prices = rng.uniform(-100.0, 1e8, 5_000).tolist()
        assert [spec.round(p) for p in prices] == [round(round(p / tick) * tick, 6) for p in prices]


def test_a_tick_finer_than_a_millionth_of_a_rupee_is_refused() -> None:
    with pytest.raises(ValueError, match="a tick must be a whole number of millionths of a rupee, got 0.0333"):
        TradingSpec(0.0333333)
    with pytest.raises(ValueError, match="a whole number of millionths of a rupee, got 1e-07"):
        PaperConfig(tick=1e-7)
