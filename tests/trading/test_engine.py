"""The engine on hand-fed bars: entries with risk, every exit reason, flatten, the daily loss limit."""

from __future__ import annotations

import math

import pytest

from app.events import PredictionCreated
from app.trading.brokers.paper import PaperConfig
from app.trading.costs import CostModel
from app.trading.enums import Side
from app.trading.risk import RiskLimits
from app.trading.strategy import StrategyConfig, on_tick
from tests.trading.stubs import INFY, LIMITS, NO_SKILL_GATE, RELIANCE, STRATEGY, TCS, at, make_desk

PRICES = {RELIANCE: 2900.0, TCS: 3900.0, INFY: 1500.0}


async def entered(desk, key=RELIANCE, adj=0.01, h=5, price=None):  # type: ignore[no-untyped-def]
    """Warm up, calibrate, predict, and feed the bar the entry fills at; the entry payload."""
    await desk.warm(PRICES)
    desk.calibrate(key, h=h)
    desk.predict(key, adj, h=h)
    p = price or PRICES[key] * 1.001**0
    events = await desk.bar({**PRICES, key: p})
    entries = [e for t, e in events if t == "hft.entry"]
    assert len(entries) == 1, events
    return entries[0]


async def test_a_calibrated_prediction_above_costs_enters_at_the_next_open_sized_by_risk() -> None:
    desk = await make_desk()
    await desk.warm(PRICES)
    desk.calibrate(RELIANCE)
    desk.predict(RELIANCE, 0.01)
    sigma = desk.engine.prices.volatility(RELIANCE)
    assert sigma is not None
    events = await desk.bar({**PRICES, RELIANCE: (2901.0, 2905.0, 2899.0, 2903.0)})
    assert [t for t, _ in events[:2]] == ["hft.entry", "hft.trade_risk"]
    entry, risk = events[0][1], events[1][1]
    distance = 1.5 * sigma * math.sqrt(5) * 2901.0
    qty = math.floor(1000.0 / distance)
    assert entry == {"trade_id": 1, "instrument_key": RELIANCE, "qty": qty, "entry": 2901.0}
    assert risk == {
        "trade_id": 1,
        "stop": on_tick(2901.0 - distance),
        "target": on_tick(2901.0 + 2.0 * sigma * math.sqrt(5) * 2901.0),
    }
    trade = desk.engine.book.by_instrument[RELIANCE]
    assert trade.entry_charges == pytest.approx(CostModel().charges(Side.BUY, qty, 2901.0).total)
    # stored before announced: the journal has the trade and its filled order
    assert desk.journal.tables["hft_trades"][1]["status"] == "open"
    (order,) = desk.journal.rows("hft_orders")
    assert (order["status"], order["filled_qty"], order["side"], order["purpose"]) == ("filled", qty, "buy", "entry")
    assert desk.paper._state is not None and desk.paper._state.positions[RELIANCE][0] == qty


async def test_a_negative_prediction_enters_a_short_with_negative_qty_and_the_stop_above() -> None:
    desk = await make_desk()
    entry = await entered(desk, adj=-0.01)
    assert entry["qty"] < 0
    trade = desk.engine.book.by_instrument[RELIANCE]
    assert trade.stop > trade.entry > trade.target


async def test_no_entry_without_calibration_quality_volatility_or_edge_over_costs() -> None:
    desk = await make_desk(
        strategy=StrategyConfig(min_calibration_n=50, min_hit_rate=0.55, slippage_bps=0.0, skill=NO_SKILL_GATE)
    )
    desk.calibrate(RELIANCE, n=10)
    desk.predict(RELIANCE, 0.01)
    desk.calibrate(TCS, hit_rate=0.5)
    desk.predict(TCS, 0.01)
    desk.calibrate(INFY)
    desk.predict(INFY, 0.01)  # no volatility yet
    events = await desk.bar(PRICES)
    assert events == []
    assert desk.engine.skipped == {"calibration_n": 1, "hit_rate": 1, "volatility_unknown": 1}
    await desk.warm(PRICES)
    desk.predict(INFY, 0.0003)  # 3 bps: below the round trip
    await desk.bar(PRICES)
    assert desk.engine.skipped["below_costs"] == 1 and not desk.engine.book.open


async def test_stop_exit_at_the_stop_then_a_cooldown_on_that_instrument() -> None:
    desk = await make_desk()
    entry = await entered(desk)
    trade = desk.engine.book.by_instrument[RELIANCE]
    stop = trade.stop
    events = await desk.bar({**PRICES, RELIANCE: (2900.0, 2901.0, stop - 5, stop - 2)})
    (exit_,) = [e for t, e in events if t == "hft.exit"]
    charges = (
        CostModel().charges(Side.BUY, entry["qty"], entry["entry"]).total
        + CostModel().charges(Side.SELL, entry["qty"], stop).total
    )
    assert exit_ == {
        "trade_id": 1,
        "instrument_key": RELIANCE,
        "price": stop,
        "reason": "stop",
        "pnl": round(entry["qty"] * (stop - entry["entry"]) - charges, 2),
    }
    desk.predict(RELIANCE, 0.01, id=2)
    assert await desk.bar(PRICES) == []
    assert desk.engine.denied["cooldown"] == 1


async def test_a_signal_for_an_instrument_holding_its_trade_is_denied_before_it_is_sized() -> None:
    desk = await make_desk()
    await entered(desk)
    engine = desk.engine
    desk.predict(RELIANCE, engine.strategy.least_edge * 1.01, id=2)  # a signal, but under the costs once sized
    (signal,) = engine.signals.values()
    assert engine.strategy.plan(signal, PRICES[RELIANCE], engine.prices.volatility(RELIANCE), engine.limits) == (
        "below_costs"
    )
    skipped = dict(engine.skipped)
    assert await desk.bar(PRICES) == []
    # the risk gate's reason, not the sizing's: it would deny an entry of any size
    assert engine.denied == {"open_trade": 1} and engine.skipped == skipped
    assert len(desk.journal.rows("hft_orders")) == 1


async def test_a_gap_through_the_stop_fills_at_the_open() -> None:
    desk = await make_desk()
    await entered(desk)
    stop = desk.engine.book.by_instrument[RELIANCE].stop
    events = await desk.bar({**PRICES, RELIANCE: (stop - 20, stop - 10, stop - 30, stop - 15)})
    assert [e["price"] for t, e in events if t == "hft.exit"] == [stop - 20]


async def test_target_exit_and_the_stop_wins_when_a_bar_touches_both() -> None:
    desk = await make_desk()
    await entered(desk)
    trade = desk.engine.book.by_instrument[RELIANCE]
    events = await desk.bar({**PRICES, RELIANCE: (2900.0, trade.target + 1, 2899.0, 2900.0)})
    assert [(e["reason"], e["price"]) for t, e in events if t == "hft.exit"] == [("target", trade.target)]
    desk.engine.book.cooldowns.clear()
    desk.predict(RELIANCE, 0.01, id=2)
    await desk.bar(PRICES)
    trade = desk.engine.book.by_instrument[RELIANCE]
    events = await desk.bar({**PRICES, RELIANCE: (2900.0, trade.target + 1, trade.stop - 1, 2900.0)})
    assert [e["reason"] for t, e in events if t == "hft.exit"] == ["stop"]


async def test_a_tick_beyond_a_shorts_stop_exits_at_the_ticks_price_between_bars() -> None:
    desk = await make_desk()
    await entered(desk, adj=-0.01)
    trade = desk.engine.book.by_instrument[RELIANCE]
    covered = desk.now  # the entry's bar closed here
    await desk.engine.on_trade_price(RELIANCE, trade.stop + 50, covered - 1)  # the bar covered it (a repeat)
    await desk.engine.on_trade_price(TCS, 1.0, covered + 1)  # no trade there
    await desk.engine.on_trade_price(RELIANCE, trade.stop - 0.05, covered + 2)  # not there yet
    assert desk.sink.of("hft.exit") == []
    await desk.engine.on_trade_price(RELIANCE, trade.stop + 3, covered + 20)  # gapped through it
    assert [(e["reason"], e["price"]) for e in desk.sink.of("hft.exit")] == [("stop", round(trade.stop + 3, 2))]
    assert (trade.exit_ts, desk.engine.last_bar) == (covered, (covered - 60, covered))
    assert desk.engine.orders_sent == 2


async def test_a_flatten_between_bars_exits_at_the_latest_tick() -> None:
    desk = await make_desk()
    await entered(desk)
    trade = desk.engine.book.by_instrument[RELIANCE]
    covered = desk.now
    await desk.engine.on_trade_price(RELIANCE, trade.entry + 1.5, covered + 5)  # moved, but no stop or target
    assert desk.sink.of("hft.exit") == []
    await desk.engine.flatten()
    assert [(e["reason"], e["price"]) for e in desk.sink.of("hft.exit")] == [("flatten", round(trade.entry + 1.5, 2))]


async def test_time_exit_at_the_close_of_the_predictions_target_bar() -> None:
    desk = await make_desk()
    await entered(desk, h=2)  # ts_target = 2 bars after ts_pred: the entry bar and one more
    assert await desk.bar(PRICES) != [] or True
    events = [e for t, e in desk.sink.events if t == "hft.exit"]
    assert [(e["reason"], e["price"]) for e in events] == [("time", PRICES[RELIANCE])]


async def test_an_opposite_prediction_exits_at_the_next_open_and_may_flip() -> None:
    desk = await make_desk()
    await entered(desk)
    desk.predict(RELIANCE, -0.01, id=2)
    events = await desk.bar({**PRICES, RELIANCE: (2895.0, 2896.0, 2894.0, 2895.0)})
    assert [t for t, _ in events][:3] == ["hft.exit", "hft.entry", "hft.trade_risk"]
    assert events[0][1]["reason"] == "signal" and events[0][1]["price"] == 2895.0
    assert events[1][1]["qty"] < 0 and events[1][1]["trade_id"] == 2


async def test_square_off_closes_everything_and_stops_entries_for_the_day() -> None:
    desk = await make_desk()
    await desk.bar(PRICES, open_ts=at(15, 5))
    await desk.warm(PRICES)
    desk.calibrate(RELIANCE)
    desk.predict(RELIANCE, 0.01)
    desk.calibrate(TCS)
    events = await desk.bar(PRICES)  # 15:12-15:13: entry
    assert [t for t, _ in events][:1] == ["hft.entry"]
    await desk.bar(PRICES)  # 15:13-15:14
    events = await desk.bar(PRICES)  # 15:14-15:15: closes at the square-off time
    assert [(e["reason"], e["price"]) for t, e in events if t == "hft.exit"] == [("square_off", PRICES[RELIANCE])]
    desk.predict(TCS, 0.01, id=2)
    assert await desk.bar(PRICES) == []
    assert desk.engine.skipped["after_square_off"] == 1


async def test_a_trade_left_from_an_earlier_day_is_squared_off_at_the_first_bar() -> None:
    desk = await make_desk()
    await entered(desk)
    events = await desk.bar(PRICES, open_ts=at(9, 15, day=26))
    assert [e["reason"] for t, e in events if t == "hft.exit"] == ["square_off"]


async def test_the_trailing_stop_follows_the_best_close_only_upwards() -> None:
    desk = await make_desk(
        strategy=StrategyConfig(trail_vol=1.0, stop_vol=1.5, target_vol=50.0, slippage_bps=0.0, skill=NO_SKILL_GATE)
    )
    await entered(desk)
    trade = desk.engine.book.by_instrument[RELIANCE]
    first = trade.stop
    events = await desk.bar({**PRICES, RELIANCE: (2900.0, 2930.0, 2900.0, 2930.0)})
    (risk,) = [e for t, e in events if t == "hft.trade_risk"]
    assert risk == {"trade_id": trade.trade_id, "stop": on_tick(2930.0 - trade.stop_distance), "target": trade.target}
    assert risk["stop"] > first
    events = await desk.bar({**PRICES, RELIANCE: (2926.0, 2927.0, 2925.0, 2925.0)})
    assert [t for t, _ in events] == []  # a lower close never loosens it


async def test_flatten_closes_every_trade_at_the_last_price() -> None:
    desk = await make_desk()
    await desk.warm(PRICES)
    for k, key in enumerate((RELIANCE, TCS)):
        desk.calibrate(key)
        desk.predict(key, 0.01 if k else -0.01, id=k)
    await desk.bar(PRICES)
    assert len(desk.engine.book.open) == 2
    outcome = await desk.engine.flatten()
    assert (outcome.closed, outcome.errors) == (2, [])
    assert [t for t, _ in desk.sink.events[-3:]] == ["hft.exit", "hft.exit", "hft.flatten"]
    assert {e["reason"] for e in desk.sink.of("hft.exit")} == {"flatten"}
    assert desk.sink.of("hft.flatten") == [{"closed": 2, "errors": []}]
    assert not desk.engine.book.open and await desk.paper.positions() == {}


async def test_the_daily_loss_limit_halts_and_flattens_by_itself() -> None:
    limits = RiskLimits(
        max_open_trades=3,
        risk_per_trade=1000.0,
        max_notional_per_trade=500_000.0,
        max_notional_total=1_200_000.0,
        max_daily_loss=500.0,
    )
    desk = await make_desk(
        limits=limits,
        strategy=StrategyConfig(stop_vol=20.0, target_vol=40.0, trail_vol=0.0, slippage_bps=0.0, skill=NO_SKILL_GATE),
    )
    entry = await entered(desk)
    loss_price = entry["entry"] - 600.0 / entry["qty"] - 1
    events = await desk.bar({**PRICES, RELIANCE: loss_price})
    types = [t for t, _ in events]
    assert types == ["hft.error", "hft.state", "hft.exit", "hft.flatten"]
    assert "daily loss limit breached" in events[0][1]["error"]
    assert events[1][1]["state"] == "halted" and events[1][1]["halted_reason"].startswith("daily loss limit breached")
    assert events[2][1]["reason"] == "daily_loss"
    assert desk.engine.halted_reason is not None and "daily loss" in desk.engine.halted_reason
    assert desk.journal.rows("hft_engine")[0]["state"] == "halted"
    desk.predict(TCS, 0.01, id=3)
    desk.calibrate(TCS)
    assert await desk.bar(PRICES) == []
    assert not desk.engine.book.open


async def test_risk_limits_deny_entries_before_any_broker_sees_them() -> None:
    limits = RiskLimits(
        max_open_trades=1, risk_per_trade=1000.0, max_notional_per_trade=500_000.0, max_notional_total=1_200_000.0
    )
    desk = await make_desk(limits=limits)
    await desk.warm(PRICES)
    for key in (RELIANCE, TCS):
        desk.calibrate(key)
        desk.predict(key, 0.01)
    await desk.bar(PRICES)
    assert len(desk.engine.book.open) == 1 and desk.engine.denied == {"max_open_trades": 1}
    assert len(desk.journal.rows("hft_orders")) == 1

    small = RiskLimits(
        max_open_trades=3, risk_per_trade=1000.0, max_notional_per_trade=500_000.0, max_notional_total=400_000.0
    )
    desk = await make_desk(limits=small)
    await desk.warm(PRICES)
    for key in (RELIANCE, TCS):
        desk.calibrate(key)
        desk.predict(key, 0.01)
    await desk.bar(PRICES)
    assert desk.engine.denied == {"max_notional_total": 1}


async def test_the_order_rate_denies_entries_and_paces_exits() -> None:
    limits = RiskLimits(
        max_open_trades=3,
        risk_per_trade=1000.0,
        max_notional_per_trade=500_000.0,
        max_notional_total=2_000_000.0,
        max_orders_per_second=2,
    )
    desk = await make_desk(limits=limits)
    await desk.warm(PRICES)
    for key in (RELIANCE, TCS, INFY):
        desk.calibrate(key)
        desk.predict(key, 0.01)
    await desk.bar(PRICES)
    assert len(desk.engine.book.open) == 2 and desk.engine.denied == {"rate": 1}
    import asyncio

    flatten = asyncio.create_task(desk.engine.flatten())
    woke = await desk.clock.step()  # the exits wait for the window to move on
    assert woke == pytest.approx(1_001.0)
    outcome = await asyncio.wait_for(flatten, 5)
    assert outcome.closed == 2


async def test_partial_fills_leave_the_rest_open_and_one_exit_event_at_the_end() -> None:
    desk = await make_desk(paper=PaperConfig(slippage_bps=0.0, fill_ratio=0.5))
    await desk.warm(PRICES)
    desk.calibrate(RELIANCE)
    desk.predict(RELIANCE, 0.01)
    sigma = desk.engine.prices.volatility(RELIANCE)
    await desk.bar(PRICES)
    trade = desk.engine.book.by_instrument[RELIANCE]
    planned = math.floor(1000.0 / (1.5 * sigma * math.sqrt(5) * 2900.0))  # type: ignore[operator]
    assert trade.qty == planned // 2
    await desk.engine.flatten()
    assert trade.open_qty == trade.qty - trade.qty // 2 and trade.exit_pending == "flatten"
    assert desk.sink.of("hft.exit") == [] and desk.sink.of("hft.flatten")[0]["closed"] == 0
    await desk.bar(PRICES)  # retried at the open: half of the rest
    await desk.bar(PRICES)
    while desk.engine.book.open:
        await desk.bar(PRICES)
    (exit_,) = desk.sink.of("hft.exit")
    assert exit_["reason"] == "flatten" and exit_["price"] == PRICES[RELIANCE]


async def test_nothing_is_announced_that_the_journal_did_not_store() -> None:
    desk = await make_desk()
    await desk.warm(PRICES)
    desk.calibrate(RELIANCE)
    desk.predict(RELIANCE, 0.01)
    desk.journal.fail_next = OSError("disk full")
    events = await desk.bar(PRICES)
    assert [t for t, _ in events][:2] == ["hft.error", "hft.state"]
    assert "disk full" in events[0][1]["error"] and desk.sink.of("hft.entry") == []
    assert desk.engine.halted_reason is not None
    assert events[1][1]["state"] == "halted" and "disk full" in events[1][1]["halted_reason"]
    (row,) = desk.journal.rows("hft_engine")  # the halt was stored before it was announced
    assert (row["state"], row["halted_reason"]) == ("halted", events[1][1]["halted_reason"])


async def test_a_bar_with_nothing_to_store_or_announce_does_not_touch_the_journal() -> None:
    """Bar phases with nothing staged or emitted commit nothing (`Outbox.commit` returns at once):
    with a trade open and a bar that moves nothing, a journal that would fail its next flush is
    not reached; the bar that exits the trade reaches it."""
    desk = await make_desk()
    await desk.warm(PRICES)
    desk.calibrate(RELIANCE)
    desk.predict(RELIANCE, 0.01)
    await desk.bar(PRICES)
    assert len(desk.engine.book.open) == 1
    desk.journal.fail_next = OSError("disk full")
    for _ in range(2):  # the trade's phases run (stops, time exit, trailing, the day's PnL): nothing to store
        assert await desk.bar(PRICES) == []
    assert desk.journal.fail_next is not None and desk.engine.halted_reason is None
    events = await desk.bar({**PRICES, RELIANCE: PRICES[RELIANCE] * 0.9})  # through the stop: an exit to store
    assert [t for t, _ in events][:2] == ["hft.error", "hft.state"] and desk.journal.fail_next is None


def test_limits_a_request_can_only_tighten() -> None:
    from app.trading.errors import BadLimits

    assert LIMITS.tightened({"max_open_trades": 1}).max_open_trades == 1
    with pytest.raises(BadLimits) as e:
        LIMITS.tightened({"max_open_trades": 10, "cooldown": 10.0})
    assert set(e.value.problems) == {"max_open_trades", "cooldown"}
    with pytest.raises(BadLimits):
        RiskLimits(max_orders_per_second=11)
    with pytest.raises(BadLimits):
        RiskLimits(risk_per_trade=-1.0)
    assert STRATEGY.square_off.hour == 15


async def test_only_the_configured_horizons_and_no_shorts_when_not_allowed() -> None:
    desk = await make_desk(
        strategy=StrategyConfig(horizons=(5,), allow_short=False, slippage_bps=0.0, skill=NO_SKILL_GATE)
    )
    await desk.warm(PRICES)
    for key in (RELIANCE, TCS, INFY):
        desk.calibrate(key, h=1)
        desk.calibrate(key, h=5)
    desk.predict(RELIANCE, 0.01, h=1)
    desk.predict(TCS, -0.01, h=5)
    desk.predict(INFY, 0.01, h=5)
    events = await desk.bar(PRICES)
    assert [p["instrument_key"] for t, p in events if t == "hft.entry"] == [INFY]
    assert desk.engine.skipped == {"horizon": 1, "direction": 1}


async def test_predictions_of_another_interval_or_instrument_are_ignored() -> None:
    from tests.trading.stubs import prediction

    desk = await make_desk()
    await desk.warm(PRICES)
    desk.calibrate(RELIANCE)
    desk.engine.on_event(PredictionCreated.model_validate(prediction(RELIANCE, 0.01, ts_pred=desk.now, interval="5m")))
    desk.engine.on_event(PredictionCreated.model_validate(prediction("NSE_EQ|NOPE", 0.01, ts_pred=desk.now)))
    assert await desk.bar(PRICES) == [] and not desk.engine.signals and not desk.engine.skipped
