"""Trades: a position the engine opened, managed and closed, with its exit reasons.

Sign convention: `qty` is signed shares, positive for a long, negative for a short (the same in
`hft.entry`). PnL is in rupees, net of every charge of the entry and exit orders:
`sum(exit fills: qty_i * (exit_i - entry)) - charges`.

Lifecycle: OPEN -> CLOSED (explicit, checked). An exit that fills only partly leaves the trade
OPEN with a smaller `open_qty` and `exit_pending` set; the engine retries at the next price and
publishes `hft.exit` once, when nothing is left, with the average exit price and the whole PnL.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.trading.enums import TradeStatus
from app.trading.errors import IllegalTransition

TRANSITIONS: dict[TradeStatus, frozenset[TradeStatus]] = {
    TradeStatus.OPEN: frozenset({TradeStatus.CLOSED}),
    TradeStatus.CLOSED: frozenset(),
}


@dataclass(slots=True, kw_only=True)
class Trade:
    """One trade. Prices in rupees; times are exchange time, UTC epoch seconds.

    `entry_ts`/`exit_ts` are the open time of the bar during which the fill happened (where a
    chart draws it). `stop_distance` is the initial distance of the stop (rupees per share),
    which the trailing stop keeps from the best close since entry.
    """

    trade_id: int
    instrument_key: str
    qty: int
    entry: float
    entry_ts: int
    entry_charges: float
    stop: float
    target: float
    stop_distance: float
    exit_by: int
    horizon_steps: int
    prediction_id: int | None
    pred_ret_adj: float
    venue: str
    day: str
    best: float  # the best close since entry (highest for a long, lowest for a short)
    open_qty: int  # signed shares still open
    status: TradeStatus = TradeStatus.OPEN
    exit_pending: str | None = None
    exit_filled: int = 0
    exit_value: float = 0.0
    exit_charges: float = 0.0
    gross: float = 0.0
    exit_price: float | None = None
    exit_ts: int | None = None
    exit_reason: str | None = None
    pnl: float | None = None
    note: str | None = None

    def __init__(
        self,
        *,
        trade_id: int,
        instrument_key: str,
        qty: int,
        entry: float,
        entry_ts: int,
        entry_charges: float,
        stop: float,
        target: float,
        stop_distance: float,
        exit_by: int,
        horizon_steps: int,
        prediction_id: int | None,
        pred_ret_adj: float,
        venue: str,
        day: str,
        best: float,
        open_qty: int,
        status: TradeStatus = TradeStatus.OPEN,
        exit_pending: str | None = None,
        exit_filled: int = 0,
        exit_value: float = 0.0,
        exit_charges: float = 0.0,
        gross: float = 0.0,
        exit_price: float | None = None,
        exit_ts: int | None = None,
        exit_reason: str | None = None,
        pnl: float | None = None,
        note: str | None = None,
    ) -> None:
        # written out: compiled, the __init__ dataclasses generates runs interpreted (app.trading.native)
        if qty == 0:
            raise ValueError("a trade needs a non-zero qty")
        self.trade_id = trade_id
        self.instrument_key = instrument_key
        self.qty = qty
        self.entry = entry
        self.entry_ts = entry_ts
        self.entry_charges = entry_charges
        self.stop = stop
        self.target = target
        self.stop_distance = stop_distance
        self.exit_by = exit_by
        self.horizon_steps = horizon_steps
        self.prediction_id = prediction_id
        self.pred_ret_adj = pred_ret_adj
        self.venue = venue
        self.day = day
        self.best = best
        self.open_qty = open_qty
        self.status = status
        self.exit_pending = exit_pending
        self.exit_filled = exit_filled
        self.exit_value = exit_value
        self.exit_charges = exit_charges
        self.gross = gross
        self.exit_price = exit_price
        self.exit_ts = exit_ts
        self.exit_reason = exit_reason
        self.pnl = pnl
        self.note = note

    @property
    def is_long(self) -> bool:
        return self.qty > 0

    @property
    def charges(self) -> float:
        return self.entry_charges + self.exit_charges

    def mark(self, price: float) -> float:
        """PnL so far, net of charges paid, with what is still open marked at `price`."""
        return self.gross + self.open_qty * (price - self.entry) - self.charges

    def notional(self, price: float | None = None) -> float:
        return abs(self.open_qty) * (self.entry if price is None else price)

    def record_exit(self, filled: int, price: float, charges: float, ts: int, reason: str) -> bool:
        """Book an exit fill of `filled` shares (> 0) at `price`; True once nothing is left open.

        A trade closed in several fills keeps the reason of the first exit that began closing it."""
        reason = str(self.exit_pending or reason)  # the exit that started closing it names it
        sign = 1 if self.open_qty > 0 else -1
        filled = min(filled, abs(self.open_qty))
        self.gross += sign * filled * (price - self.entry)
        self.exit_filled += filled
        self.exit_value += filled * price
        self.exit_charges += charges
        self.open_qty -= sign * filled
        self.exit_pending = reason
        if self.open_qty != 0:
            return False
        self.move(TradeStatus.CLOSED)
        self.exit_price = round(self.exit_value / self.exit_filled, 4)  # not 1839.0500000000002: the fills' price
        self.exit_ts = ts
        self.exit_reason = reason
        self.exit_pending = None
        self.pnl = self.gross - self.charges
        return True

    def move(self, target: TradeStatus) -> None:
        if target not in TRANSITIONS[self.status]:
            raise IllegalTransition(f"trade {self.trade_id}", self.status.value, target.value)
        self.status = target

    def row(self) -> dict[str, object]:
        return {
            "trade_id": self.trade_id,
            "instrument_key": self.instrument_key,
            "qty": self.qty,
            "open_qty": self.open_qty,
            "entry": self.entry,
            "entry_ts": self.entry_ts,
            "entry_charges": self.entry_charges,
            "stop": self.stop,
            "target": self.target,
            "stop_distance": self.stop_distance,
            "best": self.best,
            "exit_by": self.exit_by,
            "horizon_steps": self.horizon_steps,
            "prediction_id": self.prediction_id,
            "pred_ret_adj": self.pred_ret_adj,
            "venue": self.venue,
            "day": self.day,
            "status": self.status.value,
            "exit_pending": self.exit_pending,
            "exit_filled": self.exit_filled,
            "exit_value": self.exit_value,
            "exit_charges": self.exit_charges,
            "gross": self.gross,
            "exit_price": self.exit_price,
            "exit_ts": self.exit_ts,
            "exit_reason": self.exit_reason,
            "pnl": self.pnl,
            "note": self.note,
        }

    @classmethod
    def from_row(cls, row: dict[str, object]) -> Trade:
        fields = dict(row)
        fields["status"] = TradeStatus(str(fields["status"]))
        return cls(**fields)  # type: ignore[arg-type]

    def public(self) -> dict[str, object]:
        """The trade as GET /api/hft/trades shows it."""
        return {
            "trade_id": self.trade_id,
            "instrument_key": self.instrument_key,
            "qty": self.qty,
            "open_qty": self.open_qty,
            "entry": self.entry,
            "stop": self.stop,
            "target": self.target,
            "status": self.status.value,
            "exit": self.exit_price,
            "pnl": self.pnl,
            "reason": self.exit_reason,
            "entry_ts": self.entry_ts,
            "exit_ts": self.exit_ts,
            "exit_by": self.exit_by,
            "horizon_steps": self.horizon_steps,
            "prediction_id": self.prediction_id,
            "pred_ret_adj": self.pred_ret_adj,
            "charges": self.charges,
            "gross": self.gross,
            "venue": self.venue,
            "day": self.day,
            "exit_pending": self.exit_pending,
            "note": self.note,
        }
