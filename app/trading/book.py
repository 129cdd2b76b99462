"""The engine's book: open trades, the day's realized PnL, cooldowns, and ids."""

from __future__ import annotations

from collections import deque

from app.trading.trades import Trade


class Book:
    """Open trades by id and instrument (one open trade per instrument), realized PnL per IST day,
    and per-instrument cooldowns (exchange time)."""

    def __init__(
        self, *, next_trade_id: int = 1, next_order_id: int = 1, realized: dict[str, float] | None = None
    ) -> None:
        self.open: dict[int, Trade] = {}
        self.by_instrument: dict[str, Trade] = {}
        self.realized: dict[str, float] = dict(realized or {})
        self.closed: deque[Trade] = deque(maxlen=500)
        self.cooldowns: dict[str, float] = {}
        self.next_trade_id = next_trade_id
        self.next_order_id = next_order_id
        self._notional: float | None = 0.0  # open notional at entry prices; None: recount

    def trade_id(self) -> int:
        self.next_trade_id += 1
        return self.next_trade_id - 1

    def order_id(self) -> int:
        self.next_order_id += 1
        return self.next_order_id - 1

    def add(self, trade: Trade) -> None:
        if trade.instrument_key in self.by_instrument:
            raise ValueError(
                f"{trade.instrument_key} already has open trade {self.by_instrument[trade.instrument_key].trade_id}"
            )
        self.open[trade.trade_id] = trade
        self.by_instrument[trade.instrument_key] = trade
        self._notional = None

    def close(self, trade: Trade, day: str) -> None:
        self.open.pop(trade.trade_id, None)
        self.by_instrument.pop(trade.instrument_key, None)
        self._notional = None
        self.realized[day] = self.realized.get(day, 0.0) + (trade.pnl or 0.0)
        self.closed.append(trade)

    # --- Exposure (risk gate) ----------------------------------------------------------------

    def open_count(self) -> int:
        return len(self.open)

    def open_notional(self) -> float:
        if self._notional is None:
            self._notional = sum(t.notional() for t in self.open.values())
        return self._notional

    def changed(self) -> None:
        """A trade's open size changed (a partial exit): the open notional is counted again."""
        self._notional = None

    def has_open(self, instrument_key: str) -> bool:
        return instrument_key in self.by_instrument

    def cooldown_until(self, instrument_key: str) -> float:
        return self.cooldowns.get(instrument_key, 0.0)

    # --- views ------------------------------------------------------------------------------

    def net(self) -> dict[str, int]:
        """Signed open shares per instrument: what the broker should hold."""
        return {t.instrument_key: t.open_qty for t in self.open.values() if t.open_qty}
