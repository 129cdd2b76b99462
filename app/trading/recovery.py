"""Reconciliation: the engine's open trades against the broker's positions.

Runs at the first price update of every run (a start, and a restart after a crash: open
trades are reloaded from the journal first), over the instruments of the engine's universe.
Per instrument, the engine expects the broker to hold the sum of its open trades' signed
`open_qty`. Every mismatch is reported as `hft.manage_error` and resolved by one rule:

    A position the engine cannot account for is never traded on: the instrument is made flat
    on both sides. When the broker holds shares, they are squared off with a market order and
    the engine's open trades on it are closed at that fill; when the broker holds none, the
    trades are closed at the bar's open without an order. Exit reason: `reconcile`.

So after reconciliation the broker's positions equal the engine's open trades, and both are
what the journal says. With the paper broker a mismatch cannot come from a crash (a fill and
its trade are committed in one transaction); it can with a live broker (an order that filled
while the server was down, a position changed by hand).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.market.bars import BarSet
from app.trading.errors import BrokerError
from app.trading.orders import OrderStatus, Purpose, Side
from app.trading.trades import ExitReason, Trade

if TYPE_CHECKING:
    from app.trading.engine import TradingEngine


async def reconcile(engine: TradingEngine, bars: BarSet) -> None:
    try:
        positions = await engine.venue.positions()
    except BrokerError as e:
        reason = f"cannot reconcile with {engine.venue.name}: {e.message}"
        engine.halt(reason)
        engine.emit("hft.error", {"error": f"{reason}; halted"})
        await engine.commit()
        return
    expected = engine.book.net()
    universe = engine.prices.index
    for key in sorted((set(expected) | set(positions)) & set(universe)):
        want = expected.get(key, 0)
        have = positions[key].qty if key in positions else 0
        if want == have:
            continue
        trades = [t for t in engine.book.open.values() if t.instrument_key == key]
        quote = engine.prices.quote_in(bars, key)
        price = quote.open if quote is not None else engine.prices.price(key)
        if price is None:
            price = positions[key].avg_price if key in positions else trades[0].entry
        resolution = await _resolve(engine, key, have, trades, price, bars.open_ts)
        engine.emit(
            "hft.manage_error",
            {
                "error": f"reconcile {key}: the engine's open trades hold {want:+d} shares, "
                f"{engine.venue.name} holds {have:+d}; {resolution}"
            },
        )
    await engine.commit()


async def _resolve(engine: TradingEngine, key: str, have: int, trades: list[Trade], price: float, ts: int) -> str:
    if have == 0:
        for trade in trades:
            engine.book_exit(trade, abs(trade.open_qty), price, 0.0, ExitReason.RECONCILE, ts, "the broker held none")
        return f"closed {len(trades)} trade(s) at {price:.2f} without an order (the broker holds none)"
    await engine.risk.rate.acquire()
    trade_id = trades[0].trade_id if trades else None
    order = engine.order(trade_id, key, Side.to_close(have), abs(have), Purpose.EXIT, ExitReason.RECONCILE, price, ts)
    result = await engine.send(order)
    if result.status is not OrderStatus.FILLED or order.fill_price is None:
        reason = f"reconcile {key}: squaring off {have:+d} at {engine.venue.name} {result.status}: {result.message}"
        engine.halt(reason)
        return f"{result.status}: {result.message}; halted"
    charges = order.charges
    for trade in trades:
        engine.book_exit(
            trade,
            abs(trade.open_qty),
            order.fill_price,
            charges,
            ExitReason.RECONCILE,
            ts,
            f"squared off {have:+d} at the broker",
        )
        charges = 0.0
    return f"squared off {have:+d} at {order.fill_price:.2f} and closed {len(trades)} trade(s) there"
