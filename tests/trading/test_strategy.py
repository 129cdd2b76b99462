"""The strategy's exchange-day arithmetic agrees with the calendar's (IST, no daylight saving);
its judgement of predictions in columns agrees with its judgement of each."""

from __future__ import annotations

from datetime import datetime, time

import numpy as np
import pytest

from app.events import Calibration, PredictionCreated
from app.market.calendar import IST
from app.predictor.skill import CODES, SkillConfig
from app.trading.costs import CostModel
from app.trading.strategy import ACCEPTED, REASONS, Strategy, StrategyConfig, ist_day
from tests.trading.stubs import RELIANCE, prediction


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


@pytest.mark.parametrize(
    "config",
    [
        StrategyConfig(),
        StrategyConfig(horizons=(5,), allow_short=False, min_calibration_n=0, cost_multiple=2.0),
        StrategyConfig(skill=SkillConfig(gate=False), min_hit_rate=0.0),
    ],
)
def test_judging_columns_says_what_accepts_says_of_each_prediction(config: StrategyConfig) -> None:
    """`Strategy.judge` (a backtest's whole record, app.trading.judged_replay) against `accepts`
    (the live door) row by row, over rows that reach every reason and acceptance."""
    strategy = Strategy(config, CostModel())
    rng = np.random.default_rng(8)
    rows = 4000
    n = rng.choice([-1, 0, 5, 19, 20, 21, 100], rows)  # -1: no calibration yet
    hit_rate = rng.choice([0.0, 0.49, 0.5, 0.51, 0.7, 1.0], rows)
    skill = rng.integers(0, 3, rows).astype(np.int8)
    edge = strategy.least_edge
    adj = rng.choice([0.0, edge, -edge, edge * 0.999, -edge * 1.001, 3 * edge, -3 * edge, 1e-9], rows)
    states = {code: state for state, code in CODES.items()}
    said: set[str | None] = set()
    for horizon in (1, 5):
        reasons = strategy.judge(horizon, n, hit_rate, skill, adj)
        expected = [
            strategy.accepts(
                PredictionCreated.model_validate(prediction(RELIANCE, a, ts_pred=0, h=horizon)),
                None if c < 0 else Calibration(n=c, bias=0.0, mae=0.0, rmse=0.0, hit_rate=hr),
                states[s],
            )
            for c, hr, s, a in zip(n.tolist(), hit_rate.tolist(), skill.tolist(), adj.tolist(), strict=True)
        ]
        got = [None if r == ACCEPTED else REASONS[r] for r in reasons.tolist()]
        assert got == expected
        said |= set(expected)
    assert None in said and (config != StrategyConfig() or said >= set(REASONS[1:]))  # each reason reached
