"""Risk limits, checked before any order reaches a broker (the risk gate).

Entries must pass every check or are denied (`OrderDenied`, counted in the status by reason);
exits are never denied, only paced by the order rate limit. The daily loss limit is watched on
every price update by the engine: a breach halts and flattens (see engine.py).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Protocol

from app.market.clock import Clock
from app.trading.errors import BadLimits, OrderDenied
from app.trading.native import Reduced, reduced

EXCHANGE_ORDER_RATE = 10  # orders per second: the exchange's threshold for algos that are not registered


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimits:
    """:param max_open_trades: open trades at once (one per instrument at most, always).
    :param risk_per_trade: rupees lost if a trade's initial stop is hit (sizes each entry).
    :param max_notional_per_trade: rupees of one entry.
    :param max_notional_total: rupees of every open trade together, at entry prices.
    :param max_daily_loss: rupees; the day's realized + open PnL at or below -this halts and flattens.
    :param max_orders_per_second: order rate, at most 10.
    :param cooldown: seconds of exchange time an instrument waits for a new entry after a stop-out."""

    max_open_trades: int = 4
    risk_per_trade: float = 1_000.0
    max_notional_per_trade: float = 300_000.0
    max_notional_total: float = 1_000_000.0
    max_daily_loss: float = 10_000.0
    max_orders_per_second: int = EXCHANGE_ORDER_RATE
    cooldown: float = 300.0

    def __reduce__(self) -> Reduced:
        return reduced(self)  # pickled by its fields: compiled, a frozen class is not (app.trading.native)

    def __post_init__(self) -> None:
        problems = {
            f.name: "must be > 0" for f in fields(self) if f.name != "cooldown" and not getattr(self, f.name) > 0
        }
        if not self.cooldown >= 0:
            problems["cooldown"] = "must be >= 0"
        if self.max_orders_per_second > EXCHANGE_ORDER_RATE:
            problems["max_orders_per_second"] = f"must be <= {EXCHANGE_ORDER_RATE} (the exchange's threshold)"
        if problems:
            raise BadLimits(problems)

    def tightened(self, overrides: Mapping[str, float | int]) -> RiskLimits:
        """These limits with `overrides`, which may only make them stricter (a request cannot
        loosen what the server is configured with)."""
        problems: dict[str, str] = {}
        for name, value in overrides.items():
            current = getattr(self, name)
            if name == "cooldown":
                if value < current:
                    problems[name] = f"may not be shorter than the server's {current:g}"
            elif value > current:
                problems[name] = f"may not exceed the server's {current:g}"
        if problems:
            raise BadLimits(problems)
        return replace(self, **overrides)  # type: ignore[arg-type]

    def public(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DailyLossHalt:
    """A breach of the daily loss limit: the bar close it was seen at (UTC epoch seconds), its
    exchange day, the day's PnL then (realized + open, rupees) and the halt's reason."""

    ts: int
    day: str
    pnl: float
    reason: str

    def __reduce__(self) -> Reduced:
        return reduced(self)  # pickled by its fields: compiled, a frozen class is not (app.trading.native)


class RateLimiter:
    """At most `per_second` orders in any one-second window of `clock`."""

    def __init__(self, per_second: int, clock: Clock) -> None:
        self.per_second = per_second
        self._clock = clock
        self._sent: collections.deque[float] = collections.deque()

    def _free_at(self, now: float) -> float:
        while self._sent and self._sent[0] <= now - 1.0:
            self._sent.popleft()
        return now if len(self._sent) < self.per_second else self._sent[0] + 1.0

    def try_acquire(self) -> bool:
        """Take a slot now if one is free."""
        now = self._clock.now()
        if self._free_at(now) > now:
            return False
        self._sent.append(now)
        return True

    async def acquire(self) -> None:
        """Take a slot, waiting for one on the clock when the window is full."""
        while not self.try_acquire():
            await self._clock.sleep_until(self._free_at(self._clock.now()))


class Exposure(Protocol):
    """What the gate needs to know of the engine's book."""

    def open_count(self) -> int: ...

    def open_notional(self) -> float: ...

    def has_open(self, instrument_key: str) -> bool: ...

    def cooldown_until(self, instrument_key: str) -> float: ...


OPEN_TRADE = "open_trade"  # why an entry on an instrument holding its trade is denied


class RiskGate:
    """The pre-trade checks of an entry, in a fixed order; the first that fails denies it."""

    def __init__(self, limits: RiskLimits, rate: RateLimiter) -> None:
        self.limits = limits
        self.rate = rate

    def check_instrument(self, book: Exposure, instrument_key: str) -> None:
        """Raise OrderDenied when `instrument_key` has an open trade (`instrument_taken`)."""
        if self.instrument_taken(book, instrument_key):
            raise OrderDenied(OPEN_TRADE, f"{instrument_key} already has an open trade")

    @staticmethod
    def instrument_taken(book: Exposure, instrument_key: str) -> bool:
        """`instrument_key` has an open trade: an entry on it is denied (OPEN_TRADE) whatever its
        size, so the engine asks this before it sizes one (without the exception: a backtest
        asks it ~150,000 times a year of 5 instruments, nearly always to be told yes)."""
        return book.has_open(instrument_key)

    def check_entry(
        self, book: Exposure, *, instrument_key: str, qty: int, price: float, now: float, halted: str | None
    ) -> None:
        """Raise OrderDenied unless an entry of `qty` (signed) shares at `price` may be sent."""
        limits = self.limits
        notional = abs(qty) * price
        if halted is not None:
            raise OrderDenied("halted", f"the engine is halted ({halted})")
        if qty == 0:
            raise OrderDenied("size", "zero shares")
        self.check_instrument(book, instrument_key)
        if now < book.cooldown_until(instrument_key):
            raise OrderDenied("cooldown", f"{instrument_key} is cooling down after a stop-out")
        if book.open_count() >= limits.max_open_trades:
            raise OrderDenied("max_open_trades", f"{limits.max_open_trades} trades are open")
        if notional > limits.max_notional_per_trade:
            raise OrderDenied("max_notional_per_trade", f"{notional:,.0f} > {limits.max_notional_per_trade:,.0f}")
        if book.open_notional() + notional > limits.max_notional_total:
            raise OrderDenied(
                "max_notional_total", f"{book.open_notional() + notional:,.0f} > {limits.max_notional_total:,.0f}"
            )
        if not self.rate.try_acquire():
            raise OrderDenied("rate", f"more than {self.rate.per_second} orders in one second")
