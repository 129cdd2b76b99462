"""Predictions reach the strategy by one door, `TradingEngine.on_event`: the backtest's feed and
the live bus listener (stored events decoded) make the same decisions on the same predictions."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.bus.events import Batch
from app.bus.local import LocalEventBus
from app.bus.sqlite_log import SqliteEventLog
from app.events import ContractValidator, publish
from app.predictor.core import PredictorCore
from app.predictor.models import make_model
from app.trading.backtest import feed_predictions, predictions
from app.trading.service import PredictionListener
from app.trading.strategy import StrategyConfig
from tests.predictor.synthetic import MINUTE, bar_sets, random_walk
from tests.trading.stubs import NO_SKILL_GATE, make_desk

STRATEGY = StrategyConfig(
    min_calibration_n=5, min_hit_rate=0.0, cost_multiple=0.0, trail_vol=0.0, slippage_bps=0.0, skill=NO_SKILL_GATE
)


def lost() -> None:
    raise AssertionError("the event log was replaced")


async def test_the_backtest_and_the_live_listener_hand_predictions_over_alike(tmp_path: Path) -> None:
    sets, calendar = bar_sets(random_walk(240, 3, seed=4, vol=0.002))
    instruments = sets[0].instruments
    core = PredictorCore(instruments, MINUTE, horizons=(1, 5), models=[make_model("ewma")], clock=calendar)
    backtest = await make_desk(strategy=STRATEGY, instruments=instruments)
    live = await make_desk(strategy=STRATEGY, instruments=instruments)
    bus = LocalEventBus(SqliteEventLog(tmp_path / "events.sqlite3"), ContractValidator())
    await bus.start()
    try:
        await bus.subscribe("prediction", PredictionListener(live.engine, lost))
        for bars in sets:
            for desk in (backtest, live):
                desk.clock.advance_to(bars.close_ts)
                await desk.engine.on_bars(bars)
            cycle = core.step(bars)
            created, resolved = predictions(core, cycle)
            feed_predictions(backtest.engine, created, resolved)
            for events in (created, resolved):  # as the live predictor publishes them
                if events:
                    await publish(bus, *events)
            assert live.engine.signals == backtest.engine.signals  # delivered inline, decoded alike
        assert len(backtest.sink.of("hft.entry")) >= 5 and len(backtest.sink.of("hft.exit")) >= 5
        assert live.sink.events == backtest.sink.events
        assert live.engine.calibration == backtest.engine.calibration
        assert (live.engine.skipped, live.engine.denied) == (backtest.engine.skipped, backtest.engine.denied)
    finally:
        await bus.close()


async def test_the_listener_takes_a_batch_after_the_fan_out_not_inside_it(tmp_path: Path) -> None:
    """Decoding and taking a cycle's predictions (~6 ms at 500 instruments) must not hold the
    subscribers the fan-out reaches after the engine's listener: `deliver` only queues the
    batch; the engine takes it when the loop turns (before a publish returns: the test above)."""
    sets, calendar = bar_sets(random_walk(40, 3, seed=5, vol=0.002))
    instruments = sets[0].instruments
    core = PredictorCore(instruments, MINUTE, horizons=(1,), models=[make_model("ewma")], clock=calendar)
    live = await make_desk(strategy=STRATEGY, instruments=instruments)
    bus = LocalEventBus(SqliteEventLog(tmp_path / "events.sqlite3"), ContractValidator())
    await bus.start()
    try:
        resolved = next(r for r in (predictions(core, core.step(bars))[1] for bars in sets) if r)
        await publish(bus, *resolved)
        batch = Batch("prediction", await bus.history("prediction", after=0, limit=100))
    finally:
        await bus.close()
    listener = PredictionListener(live.engine, lost)
    listener.deliver(batch)
    assert live.engine.calibration == {}, "taken inside deliver: the fan-out would wait for it"
    await asyncio.sleep(0)
    assert len(live.engine.calibration) == len(instruments) == len(batch.events)
