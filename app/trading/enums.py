"""The trading engine's enumerations: sides, purposes and statuses of orders, trades' statuses
and exit reasons, what a backtest does after a halt.

Apart from the modules that use them because those are compiled (app.trading.native) and mypyc
gives every enum it compiles the docstring "mypyc filler docstring", which the API's JSON schema
would then show (`TradeStatus`). An enum is a Python class compiled or not, so keeping them
here costs nothing.
"""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """Which way an order goes."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @staticmethod
    def to_open(qty: int) -> Side:
        """The side that opens a position of signed `qty` (positive: long)."""
        return Side.BUY if qty > 0 else Side.SELL

    @staticmethod
    def to_close(qty: int) -> Side:
        """The side that closes a position of signed `qty`."""
        return Side.SELL if qty > 0 else Side.BUY


class Purpose(StrEnum):
    """What an order is for: opening a trade, closing one, or its stop held at the broker."""

    ENTRY = "entry"
    EXIT = "exit"
    STOP = "stop"  # a stop-loss order held at the broker


class OrderStatus(StrEnum):
    """Where an order is in its lifecycle (app.trading.orders says how it moves)."""

    NEW = "new"
    DENIED = "denied"
    SUBMITTED = "submitted"
    FILLED = "filled"
    PARTIAL = "partial"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"


class TradeStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ExitReason(StrEnum):
    """Why a trade was closed (`hft.exit` `reason`)."""

    STOP = "stop"  # the stop was touched (a bar's low for a long, high for a short)
    TARGET = "target"  # the target was touched
    TIME = "time"  # the prediction's horizon (its ts_target) ran out
    SIGNAL = "signal"  # a new prediction pointed the other way
    SQUARE_OFF = "square_off"  # the intraday square-off time (15:15 IST by default)
    FLATTEN = "flatten"  # a person or the square_off automation flattened (or stopped) the engine
    DAILY_LOSS = "daily_loss"  # the daily loss limit was breached: halt and flatten
    RECONCILE = "reconcile"  # after a restart the broker's position did not match (see recovery)


class AfterHalt(StrEnum):
    """What the desk does after the daily loss limit halted the engine, in a multi-day backtest
    (`signaldesk backtest --trade --after-halt`; live, a person decides)."""

    RESUME_NEXT_SESSION = "resume-next-session"  # re-armed at the next session's first bar
    STAY_HALTED = "stay-halted"  # halted for the rest of the backtest
