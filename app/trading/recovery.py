"""Reconciliation: the engine's open trades against the broker's positions, as a plan.

Runs at the first price update of every run (a start, and a restart after a crash: open
trades are reloaded from the journal first), then all day (`TradingEngine.reconcile`: every
SIGNALDESK_HFT_RECONCILE_INTERVAL seconds and after a broker stream reconnects), over the
instruments of the engine's universe.
Per instrument, the engine expects the broker to hold the sum of its open trades' signed
`open_qty`. `plan` lists every mismatch (a pure function); the engine carries each one out,
reports it as `hft.manage_error` (`Mismatch.report`) and resolves it by one rule:

    A position the engine cannot account for is never traded on: the instrument is made flat
    on both sides. When the broker holds shares, they are squared off with a market order and
    the engine's open trades on it are closed at that fill; when the broker holds none, the
    trades are closed at the bar's open without an order. Exit reason: `reconcile`.

Where the broker lists the orders working there (`OpenOrders`: Upstox; the paper broker has
none), they are compared first, by the same rule: an open order on an instrument of the
universe that the engine did not place (`foreign_orders`: no engine order id in its tag) could
open a position the engine cannot account for, so it is cancelled (`hft.manage_error`; a cancel
that fails halts the engine). The engine's own working orders are left to it.

So after reconciliation the broker's positions equal the engine's open trades, and both are
what the journal says. With the paper broker a mismatch cannot come from a crash (a fill and
its trade are committed in one transaction); it can with a live broker (an order that filled
while the server was down, a position changed by hand).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from app.trading.brokers.base import OpenOrder, Position
from app.trading.trades import Trade


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One instrument where the engine's open trades (`want` shares) and the broker (`have`) differ.

    :param price: where the trades close without an order, and the square-off order's reference.
    """

    instrument_key: str
    want: int
    have: int
    trades: tuple[Trade, ...]
    price: float

    @property
    def needs_order(self) -> bool:
        """The broker holds shares: they are squared off at the broker."""
        return self.have != 0

    def report(self, venue: str, resolution: str) -> str:
        return (
            f"reconcile {self.instrument_key}: the engine's open trades hold {self.want:+d} shares, "
            f"{venue} holds {self.have:+d}; {resolution}"
        )


def plan(
    expected: Mapping[str, int],
    open_trades: Iterable[Trade],
    positions: Mapping[str, Position],
    universe: Iterable[str],
    price: Callable[[str], float | None],
) -> list[Mismatch]:
    """Every mismatch in `universe`, by instrument key. `expected`: the book's net open shares
    (`Book.net`); `price(key)`: the bar's open, else the latest price; without either, the
    broker's average price or the first trade's entry."""
    trades = list(open_trades)
    mismatches: list[Mismatch] = []
    for key in sorted((set(expected) | set(positions)) & set(universe)):
        want = expected.get(key, 0)
        have = positions[key].qty if key in positions else 0
        if want == have:
            continue
        on_key = tuple(t for t in trades if t.instrument_key == key)
        mark = price(key)
        if mark is None:
            mark = positions[key].avg_price if key in positions else on_key[0].entry
        mismatches.append(Mismatch(key, want, have, on_key, mark))
    return mismatches


def foreign_orders(orders: Iterable[OpenOrder], universe: Iterable[str]) -> list[OpenOrder]:
    """The open orders on instruments of `universe` that the engine did not place."""
    keys = set(universe)
    return [o for o in orders if o.client_order_id is None and o.instrument_key in keys]
