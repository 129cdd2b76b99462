"""Errors of the market-data package; each names the value that was wrong."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class MarketDataError(Exception):
    """Base of market-data errors."""


class UnknownInterval(MarketDataError):
    def __init__(self, text: str, known: tuple[str, ...]) -> None:
        self.text = text
        super().__init__(f"unknown interval {text!r}; one of {', '.join(known)} (or an alias such as 1minute, day)")


class InvalidInstrumentKey(MarketDataError):
    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(
            f"invalid instrument key {text!r}: {reason} "
            "(expected EXCHANGE_SEGMENT|IDENTIFIER, e.g. NSE_EQ|INE002A01018)"
        )


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One bad value: `line` is the file's line (CSV, header = 1) or 1-based row (Parquet, JSON)."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"


class CandleImportError(MarketDataError):
    """A candle file that cannot be imported; nothing of it is stored.

    `problems` holds the first bad rows in line order (at most MAX_PROBLEMS of `total`); it is
    empty when the file as a whole is wrong (`reason` says why: unreadable, columns missing).
    """

    MAX_PROBLEMS = 1000

    def __init__(self, source: str, reason: str, problems: Sequence[RowProblem] = (), *, total: int = 0) -> None:
        self.source = source
        self.reason = reason
        self.problems = list(problems)
        self.total = max(total, len(self.problems))
        super().__init__(f"{source}: {reason}")


class FeedStateError(MarketDataError):
    """An action the market feed cannot take in its current state (e.g. start while running)."""

    def __init__(self, action: str, state: str) -> None:
        self.action = action
        self.state = state
        super().__init__(f"cannot {action} the market feed while it is {state}")


class BadBars(MarketDataError):
    """A source yielded bars that break the BarSource promise (order, interval, instruments)."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


class BadCandles(MarketDataError):
    """Stored candles a replay cannot use (columns missing, times out of order)."""

    def __init__(self, instrument_key: str, problem: str) -> None:
        self.instrument_key = instrument_key
        self.problem = problem
        super().__init__(f"stored candles of {instrument_key}: {problem}")
