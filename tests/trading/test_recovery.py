"""Reconciliation at the first bar of a run: every mismatch reported and resolved by the one rule."""

from __future__ import annotations

from app.trading.book import Book
from app.trading.brokers.paper import PaperState
from app.trading.trades import Trade
from tests.trading.stubs import DAY_OPEN, RELIANCE, TCS, make_desk

PRICES = {RELIANCE: 2900.0, TCS: 3900.0}


def open_trade(trade_id: int, key: str, qty: int, entry: float) -> Trade:
    return Trade(
        trade_id=trade_id,
        instrument_key=key,
        qty=qty,
        entry=entry,
        entry_ts=DAY_OPEN - 600,
        entry_charges=10.0,
        stop=entry - 20,
        target=entry + 30,
        stop_distance=20.0,
        exit_by=DAY_OPEN + 3600,
        horizon_steps=5,
        prediction_id=1,
        pred_ret_adj=0.01,
        venue="paper",
        day="2025-11-25",
        best=entry,
        open_qty=qty,
    )


def book_with(*trades: Trade) -> Book:
    book = Book(next_trade_id=10, next_order_id=10)
    for trade in trades:
        book.add(trade)
    return book


async def test_when_both_agree_nothing_is_said() -> None:
    state = PaperState(capital=1e6, positions={RELIANCE: (50, 2890.0)})
    desk = await make_desk(book=book_with(open_trade(1, RELIANCE, 50, 2890.0)), state=state)
    assert await desk.bar(PRICES) == []
    assert len(desk.engine.book.open) == 1


async def test_a_trade_the_broker_does_not_hold_is_closed_without_an_order() -> None:
    desk = await make_desk(book=book_with(open_trade(1, RELIANCE, 50, 2890.0)), state=PaperState(capital=1e6))
    events = await desk.bar({RELIANCE: (2895.0, 2896.0, 2894.0, 2895.0), TCS: 3900.0})
    assert [t for t, _ in events] == ["hft.exit", "hft.manage_error"]
    assert events[0][1] == {
        "trade_id": 1,
        "instrument_key": RELIANCE,
        "price": 2895.0,
        "reason": "reconcile",
        "pnl": round(50 * 5.0 - 10.0, 2),
    }
    assert events[1][1]["error"].startswith(
        f"reconcile {RELIANCE}: the engine's open trades hold +50 shares, paper holds +0"
    )
    assert not desk.engine.book.open and desk.journal.rows("hft_orders") == []


async def test_a_position_the_engine_cannot_account_for_is_squared_off() -> None:
    desk = await make_desk(state=PaperState(capital=1e6, positions={TCS: (-30, 3910.0)}))
    events = await desk.bar(PRICES)
    assert [t for t, _ in events] == ["hft.manage_error"]
    assert "hold +0 shares, paper holds -30; squared off -30 at 3900.00" in events[0][1]["error"]
    assert await desk.paper.positions() == {}
    (order,) = desk.journal.rows("hft_orders")
    assert (order["trade_id"], order["side"], order["qty"], order["reason"]) == (None, "buy", 30, "reconcile")


async def test_different_sizes_square_off_the_broker_and_close_the_trade_at_that_fill() -> None:
    state = PaperState(capital=1e6, positions={RELIANCE: (60, 2890.0)})
    desk = await make_desk(book=book_with(open_trade(1, RELIANCE, 100, 2890.0)), state=state)
    events = await desk.bar(PRICES)
    assert [t for t, _ in events] == ["hft.exit", "hft.manage_error"]
    assert (events[0][1]["reason"], events[0][1]["price"]) == ("reconcile", 2900.0)
    assert await desk.paper.positions() == {} and not desk.engine.book.open


async def test_a_broker_that_cannot_say_its_positions_halts_the_engine() -> None:
    desk = await make_desk(book=book_with(open_trade(1, RELIANCE, 50, 2890.0)))
    await desk.paper.close()  # the venue went away: its positions cannot be read (NotConnected)

    events = await desk.bar(PRICES)
    assert events[0] == ("hft.error", {"error": "cannot reconcile with paper: not connected; halted"})
    assert events[1] == (
        "hft.state",
        {
            "state": "halted",
            "halted_reason": "cannot reconcile with paper: not connected",
            "safe_mode": True,
            "live_trading_enabled": False,
            "broker": "paper",
        },
    )
    assert desk.engine.halted_reason is not None and len(desk.engine.book.open) == 1
