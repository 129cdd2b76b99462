"""The strategy's exchange-day arithmetic agrees with the calendar's (IST, no daylight saving)."""

from __future__ import annotations

from datetime import datetime, time

import numpy as np

from app.market.calendar import IST
from app.trading.costs import CostModel
from app.trading.strategy import Strategy, StrategyConfig, ist_day


def test_the_exchange_day_and_the_square_off_moment_match_the_calendar() -> None:
    strategy = Strategy(StrategyConfig(square_off=time(15, 15)), CostModel())
    rng = np.random.default_rng(5)
    stamps = [
        *rng.integers(0, 2_500_000_000, 2000).tolist(),
        19_675 * 86_400 - 19_800,
        19_675 * 86_400 - 19_801,
    ]  # IST midnight, and a second before
    for ts in stamps:
        day = datetime.fromtimestamp(ts, IST).date()
        assert ist_day(ts) == day.isoformat()
        assert strategy.square_off_ts(ts) == int(datetime.combine(day, time(15, 15), IST).timestamp())
