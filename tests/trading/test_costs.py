"""Indian intraday equity charges, by hand."""

from __future__ import annotations

import pytest

from app.trading.costs import CostModel
from app.trading.orders import Side


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
