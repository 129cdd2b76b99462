"""Indian intraday equity charges, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from app.events import Calibration, PredictionCreated
from app.predictor.skill import SkillState
from app.trading.costs import CostModel
from app.trading.enums import Side
from app.trading.strategy import Strategy, StrategyConfig
from tests.trading.stubs import prediction


def test_charges_of_a_buy_and_a_sell_of_rs_2_9_lakh() -> None:
    costs = CostModel()
    buy = costs.charges(Side.BUY, 100, 2900.0)
    # turnover 2,90,000: brokerage capped at Rs 20 (0.03 % would be 87); no STT on a buy; stamp 0.003 %
    assert (buy.brokerage, buy.stt) == (20.0, 0.0)
    assert buy.exchange == pytest.approx(8.613)  # 0.00297 %
    assert buy.sebi == pytest.approx(0.29)  # Rs 10 per crore
    assert buy.gst == pytest.approx(0.18 * (20.0 + 8.613 + 0.29))
    assert buy.stamp == pytest.approx(8.7)
    assert buy.total == pytest.approx(42.80554)
    sell = costs.charges(Side.SELL, 100, 2900.0)
    assert (sell.stt, sell.stamp) == (pytest.approx(72.5), 0.0)  # 0.025 % on the sell side
    assert sell.total == pytest.approx(106.60554)
    assert costs.round_trip(100, 2900.0) == pytest.approx(149.41108)
    assert costs.round_trip_fraction(100, 2900.0) == pytest.approx(149.41108 / 290_000)


def test_brokerage_is_a_percentage_below_the_cap_and_every_rate_is_configurable() -> None:
    assert CostModel().charges(Side.BUY, 10, 100.0).brokerage == pytest.approx(0.3)
    free = CostModel(brokerage_pct=0, stt_sell_pct=0, exchange_pct=0, sebi_per_crore=0, gst_pct=0, stamp_buy_pct=0)
    assert free.round_trip(1000, 500.0) == 0.0
    with pytest.raises(ValueError, match="stt_sell_pct"):
        CostModel(stt_sell_pct=-1)


def test_no_order_size_at_any_price_costs_less_than_the_floor() -> None:
    for costs in (CostModel(), CostModel(brokerage_pct=0.1, brokerage_cap=5.0, gst_pct=0.0, stamp_buy_pct=0.015)):
        floor = costs.floor_fraction()
        fractions = [
            costs.round_trip_fraction(qty, price) for qty in (1, 7, 1_000, 10**7) for price in (0.05, 12.3, 2900.0)
        ]
        assert floor > 0 and min(fractions) >= floor
        assert costs.round_trip_fraction(10**9, 5_000.0) == pytest.approx(floor, rel=1e-6)  # the cap vanishes


def test_an_order_s_total_and_a_round_trip_are_the_charges_objects_to_the_bit() -> None:
    rng = np.random.default_rng(4)
    for costs in (CostModel(), CostModel(brokerage_pct=0.1, brokerage_cap=5.0, gst_pct=0.0, stamp_buy_pct=0.015)):
        for qty, price in zip(
            rng.integers(1, 10**6, 500).tolist(), rng.uniform(0.05, 5_000, 500).tolist(), strict=True
        ):
            buy, sell = costs.charges(Side.BUY, qty, price).total, costs.charges(Side.SELL, qty, price).total
            assert (costs.total(Side.BUY, qty, price), costs.total(Side.SELL, qty, price)) == (buy, sell)
            assert costs.round_trip(qty, price) == buy + sell


def test_a_prediction_below_the_floor_is_skipped_on_arrival_one_above_may_trade() -> None:
    strategy = Strategy(StrategyConfig(cost_multiple=2.0, slippage_bps=1.0), CostModel())
    edge = 2.0 * (CostModel().floor_fraction() + 2e-4)
    calibration = Calibration(n=100, bias=0.0, mae=0.001, rmse=0.001, hit_rate=0.6)
    for adj, skip in ((edge * 0.999, "below_costs"), (-edge * 0.999, "below_costs"), (edge * 1.001, None)):
        created = PredictionCreated.model_validate(prediction("NSE_EQ|X", adj, ts_pred=0))
        assert strategy.accepts(created, calibration, SkillState.SKILLED) == skip
