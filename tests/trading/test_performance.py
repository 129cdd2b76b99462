"""The performance figures (app.trading.performance) on small cases checked by hand."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from app.market.calendar import IST
from app.trading.costs import CostModel
from app.trading.enums import Side
from app.trading.performance import CHARGE_KINDS, Marks, measure
from app.trading.trades import Trade

KEY = "NSE_EQ|INE002A01018"
DAY = datetime(2026, 3, 2, 9, 15, tzinfo=IST)
T0 = int(DAY.timestamp())
NO_COSTS = CostModel()


def trade(
    trade_id: int,
    pnl: float | None,
    *,
    entry_ts: int = T0,
    exit_ts: int | None = T0 + 60,
    qty: int = 10,
    entry: float = 100.0,
    entry_charges: float = 0.0,
    exit_charges: float = 0.0,
    key: str = KEY,
    horizon: int = 5,
    reason: str = "target",
) -> Trade:
    """A trade closed with net `pnl` (None: still open) at `exit_ts`."""
    t = Trade(
        trade_id=trade_id,
        instrument_key=key,
        qty=qty,
        entry=entry,
        entry_ts=entry_ts,
        entry_charges=entry_charges,
        stop=entry * 0.9,
        target=entry * 1.2,
        stop_distance=entry * 0.1,
        exit_by=entry_ts + 3600,
        horizon_steps=horizon,
        prediction_id=None,
        pred_ret_adj=0.01,
        venue="paper",
        day="2026-03-02",
        best=entry,
        open_qty=qty,
    )
    if pnl is not None:
        assert exit_ts is not None
        charges = entry_charges + exit_charges
        t.record_exit(abs(qty), entry + (pnl + charges) / qty, exit_charges, exit_ts, reason)
    return t


def test_a_known_equity_curve_has_its_max_drawdown_with_start_trough_and_recovery() -> None:
    # one long of 10 at 100 (charges 2 in, 3 out), marked at each close; out at 120 in bar 4
    open_ts = T0 + 60 * np.arange(6)
    closes = np.array([[100.0], [110.0], [90.0], [95.0], [120.0], [130.0]])
    marks = Marks((KEY,), open_ts, open_ts + 60, closes)
    t = trade(1, 195.0, exit_ts=int(open_ts[4]), entry_charges=2.0, exit_charges=3.0)
    assert t.exit_price == pytest.approx(120.0)

    perf = measure([t], [], capital=10_000.0, costs=NO_COSTS, marks=marks)

    assert perf.equity == pytest.approx([9998.0, 10098.0, 9898.0, 9948.0, 10195.0, 10195.0])
    assert perf.drawdown == pytest.approx([-2.0, 0.0, -200.0, -150.0, 0.0, 0.0])
    dd = perf.max_drawdown
    assert dd.amount == pytest.approx(200.0) and dd.pct == pytest.approx(100 * 200 / 10098)
    assert (dd.start_ts, dd.trough_ts, dd.recovery_ts) == (T0 + 120, T0 + 180, T0 + 300)  # bar closes 1, 2 and 4
    assert dd.recovery_seconds == 180
    assert perf.exposure == pytest.approx(4 / 6) and perf.curve_ts == (open_ts + 60).tolist()
    assert perf.net_pnl == pytest.approx(195.0) and perf.charges == pytest.approx(5.0)


def test_a_drawdown_not_recovered_has_no_recovery() -> None:
    open_ts = T0 + 60 * np.arange(3)
    marks = Marks((KEY,), open_ts, open_ts + 60, np.array([[100.0], [90.0], [95.0]]))
    perf = measure([trade(1, None)], [], capital=10_000.0, costs=NO_COSTS, marks=marks)
    assert perf.equity == pytest.approx([10_000.0, 9_900.0, 9_950.0]) and perf.open_pnl == pytest.approx(-50.0)
    assert perf.max_drawdown.trough_ts == T0 + 120 and perf.max_drawdown.recovery_ts is None
    assert perf.open_trades == 1 and perf.trades == 0


def test_profit_factor_expectancy_and_streaks_from_three_trades() -> None:
    trades = [trade(1, 300.0, exit_ts=T0 + 60), trade(2, 50.0, exit_ts=T0 + 120), trade(3, -100.0, exit_ts=T0 + 180)]
    perf = measure(trades, [], capital=100_000.0, costs=NO_COSTS)
    assert perf.profit_factor == pytest.approx(350.0 / 100.0)
    assert perf.expectancy == pytest.approx(250.0 / 3)
    assert (perf.avg_win, perf.avg_loss) == (pytest.approx(175.0), pytest.approx(-100.0))
    assert (perf.wins, perf.losses, perf.win_rate) == (2, 1, pytest.approx(2 / 3))
    assert (perf.longest_win_streak, perf.longest_loss_streak) == (2, 1)
    assert perf.equity == pytest.approx([100_300.0, 100_350.0, 100_250.0])  # without marks: a step per exit
    assert perf.exposure is None and perf.unavailable["exposure"] == "no bar marks"
    flattened = measure([*trades, trade(4, 20.0, exit_ts=T0 + 180)], [], capital=100_000.0, costs=NO_COSTS)
    assert flattened.curve_ts == [T0 + 60, T0 + 120, T0 + 180]  # exits at one time: one point, after them all
    assert flattened.equity == pytest.approx([100_300.0, 100_350.0, 100_270.0])


def test_splits_by_instrument_horizon_and_exit_reason() -> None:
    trades = [
        trade(1, 300.0, key="NSE_EQ|A", horizon=1, reason="target"),
        trade(2, -100.0, key="NSE_EQ|A", horizon=5, reason="stop"),
        trade(3, 50.0, key="NSE_EQ|B", horizon=5, reason="target"),
    ]
    perf = measure(trades, [], capital=100_000.0, costs=NO_COSTS)
    a, b = perf.by_instrument
    assert (a.key, a.trades, a.net_pnl, a.profit_factor) == ("NSE_EQ|A", 2, pytest.approx(200.0), pytest.approx(3.0))
    assert (b.key, b.trades, b.profit_factor) == ("NSE_EQ|B", 1, None)  # no losing trade
    assert [(g.key, g.trades) for g in perf.by_horizon] == [("1", 1), ("5", 2)]
    assert [(g.key, g.net_pnl) for g in perf.by_exit_reason] == [("stop", -100.0), ("target", pytest.approx(350.0))]


def test_daily_pnl_and_the_ratios_follow_their_definitions() -> None:
    day = 86_400
    pnls = [1000.0, -500.0, 2000.0, -250.0]
    trades = [trade(i, p, exit_ts=T0 + i * day + 600) for i, p in enumerate(pnls)]
    perf = measure(trades, [], capital=100_000.0, costs=NO_COSTS)
    assert [d.day for d in perf.daily] == ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert [d.pnl for d in perf.daily] == pytest.approx(pnls)
    equity = 100_000.0 + np.cumsum([0.0, *pnls])
    returns = equity[1:] / equity[:-1] - 1
    assert [d.ret for d in perf.daily] == pytest.approx(returns.tolist())
    assert perf.sharpe == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(250))
    downside = math.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))
    assert perf.sortino == pytest.approx(returns.mean() / downside * math.sqrt(250))
    assert perf.cagr is None and perf.unavailable["cagr"] == "4 sessions: less than a year"


def test_cagr_and_calmar_over_a_year_of_sessions() -> None:
    n = 300
    open_ts = T0 + 86_400 * np.arange(n)
    closes = np.linspace(100.0, 150.0, n)[:, None]
    closes[100] = 90.0  # one bad day: the max drawdown
    marks = Marks((KEY,), open_ts, open_ts + 60, closes)
    perf = measure([trade(1, None, qty=100)], [], capital=10_000.0, costs=NO_COSTS, marks=marks)
    growth = perf.equity[-1] / 10_000.0
    assert perf.cagr == pytest.approx(growth ** (250 / n) - 1)
    drop = perf.max_drawdown.pct / 100
    assert perf.calmar == pytest.approx(perf.cagr / drop)


def test_no_trades_or_one_day_says_so() -> None:
    open_ts = T0 + 86_400 * np.arange(5031)
    marks = Marks((KEY,), open_ts, open_ts + 60, np.full((5031, 1), 100.0))
    perf = measure([], [], capital=10_000.0, costs=NO_COSTS, marks=marks)
    assert perf.sessions == 5031 and perf.sharpe is None
    assert {k: perf.unavailable[k] for k in ("sharpe", "sortino", "cagr", "profit_factor")} == dict.fromkeys(
        ("sharpe", "sortino", "cagr", "profit_factor"), "no trades"
    )
    one_day = measure([trade(1, 10.0), trade(2, -5.0)], [], capital=10_000.0, costs=NO_COSTS)
    assert one_day.sessions == 1 and one_day.sharpe is None and one_day.unavailable["sharpe"] == "one day"


def test_charges_by_kind_and_turnover_come_from_the_fills() -> None:
    costs = CostModel()
    orders = [
        {"side": "buy", "filled_qty": 10, "fill_price": 100.0, "broker_charges": 1.5},
        {"side": "sell", "filled_qty": 10, "fill_price": 120.0, "broker_charges": None},
        {"side": "sell", "filled_qty": 0, "fill_price": None, "broker_charges": None},  # rejected
    ]
    perf = measure([], orders, capital=10_000.0, costs=costs)
    buy, sell = costs.charges(Side.BUY, 10, 100.0), costs.charges(Side.SELL, 10, 120.0)
    assert perf.charges_by_kind == {k: pytest.approx(getattr(buy, k) + getattr(sell, k)) for k in CHARGE_KINDS}
    assert perf.charges_by_kind["stt"] == pytest.approx(sell.stt) and perf.charges_by_kind["stamp"] == pytest.approx(
        buy.stamp
    )
    assert perf.turnover == pytest.approx(2200.0) and perf.turnover_ratio == pytest.approx(0.22)
    assert perf.broker_charges is None and "not every fill" in perf.unavailable["broker_charges"]


def test_a_trade_s_exit_price_is_its_fills_price_to_4_decimals() -> None:
    """Nine shares out at 1839.05 in two fills: 1839.05, not 1839.0500000000002."""
    t = trade(1, None, qty=9, entry=1800.0)
    assert not t.record_exit(4, 1839.05, 0.0, T0 + 60, "stop")
    assert t.record_exit(5, 1839.05, 0.0, T0 + 60, "stop")
    assert t.exit_price == 1839.05


def test_the_equity_curve_marks_every_trade_at_every_bar_as_a_loop_over_trades_does() -> None:
    """The curve's open PnL and exposure summed by difference arrays, against a plain loop over
    the trades and bars: longs and shorts, open, partly exited and closed trades, an instrument
    without marks, one whose first bars have no close, exits at and after the last bar."""
    rng = np.random.default_rng(12)
    keys = ("NSE_EQ|A", "NSE_EQ|B", "NSE_EQ|C")
    bars = 200
    open_ts = T0 + 60 * np.arange(bars)
    close = 100.0 * np.exp(np.cumsum(0.002 * rng.standard_normal((bars, 2)), axis=0))
    close[:15, 1] = np.nan  # B has no bar before its 16th
    close[rng.random((bars, 2)) < 0.1] = np.nan
    marks = Marks(keys[:2], open_ts, open_ts + 60, close)  # C is not marked
    trades = []
    for j in range(40):
        kind = ("open", "partly exited", "closed", "closed")[j % 4]
        start = int(rng.integers(150, bars)) if kind != "closed" else int(rng.integers(-5, bars))
        entry_ts, exit_ts = T0 + 60 * start, T0 + 60 * (start + int(rng.integers(0, 12)))
        qty = int(rng.choice([-1, 1]) * rng.integers(2, 50))
        t = trade(j, None, entry_ts=entry_ts, exit_ts=None, qty=qty, entry=float(rng.uniform(90, 110)), key=keys[j % 3])
        t.entry_charges = float(rng.uniform(0, 5))
        if kind != "open":
            t.record_exit(abs(qty) // 2, t.entry * 1.01, 1.0, exit_ts, "target")
        if kind == "closed":
            t.record_exit(abs(t.open_qty), t.entry * 0.99, 1.5, exit_ts, "stop")
        trades.append(t)
    assert {t.pnl is None for t in trades} == {True, False}

    perf = measure(trades, [], capital=100_000.0, costs=NO_COSTS, marks=marks)

    filled = pd.DataFrame(close).ffill().to_numpy().tolist()
    realized, open_pnl, exposed = np.zeros(bars), np.zeros(bars), np.zeros(bars, dtype=bool)
    for t in trades:
        first = int(np.searchsorted(open_ts, t.entry_ts))
        last = bars if t.exit_ts is None else int(np.searchsorted(open_ts, t.exit_ts))
        if t.pnl is not None and last < bars:
            realized[last] += t.pnl
        for b in range(first, last):
            exposed[b] = True
            known = filled[b][keys.index(t.instrument_key)] if t.instrument_key in keys[:2] else float("nan")
            price = t.entry if math.isnan(known) else known
            if t.pnl is None:
                open_pnl[b] += t.gross - t.charges + t.open_qty * (price - t.entry)
            else:
                open_pnl[b] += t.qty * (price - t.entry) - t.entry_charges
    assert perf.equity == pytest.approx((100_000.0 + np.cumsum(realized) + open_pnl).tolist(), rel=0, abs=1e-6)
    assert perf.exposure == pytest.approx(exposed.mean()) and 0 < perf.exposure < 1
    assert perf.open_pnl == pytest.approx(open_pnl[-1], abs=1e-6)
