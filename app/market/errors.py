"""Errors of the market-data package; each names the value that was wrong."""

from __future__ import annotations


class MarketDataError(Exception):
    """Base of market-data errors."""


class UnknownInterval(MarketDataError):
    def __init__(self, text: str, known: tuple[str, ...]) -> None:
        self.text = text
        super().__init__(f"unknown interval {text!r}; one of {', '.join(known)} (or an alias such as 1minute, day)")
