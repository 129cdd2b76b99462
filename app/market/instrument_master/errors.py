"""Errors of the instrument master; each names the file, row, field or text that was wrong."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.market.errors import MarketDataError

SYNC_HINT = "run `signaldesk instruments sync`"


@dataclass(frozen=True, slots=True)
class RowFault:
    """One bad value of an instrument file: `index` is the row's 0-based position in the array."""

    index: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.index}, {self.field}: {self.message}"


class MasterFileError(MarketDataError):
    """An instrument file that cannot be loaded; the stored master is left as it was.

    `faults` holds the first bad rows (at most MAX_FAULTS of `total`); empty when the file as a
    whole is wrong (`reason` says why: not gzip or JSON, not an array, no instruments).
    """

    MAX_FAULTS = 1000

    def __init__(self, source: str, reason: str, faults: Sequence[RowFault] = (), *, total: int = 0) -> None:
        self.source = source
        self.reason = reason
        self.faults = list(faults)[: self.MAX_FAULTS]
        self.total = max(total, len(self.faults))
        super().__init__(f"{source}: {reason}")


class MasterDownloadError(MarketDataError):
    """The instrument file could not be downloaded from `url`."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot download the instrument file {url} (SIGNALDESK_UPSTOX_INSTRUMENTS_URL): {reason}")


class UnknownInstrument(MarketDataError):
    """A symbol the instrument master does not know (or no master is loaded), or one that names
    several instruments; `text` is what was given."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"unknown instrument {text!r}: {reason}")


class RepeatedInstrument(MarketDataError):
    """Two texts of one list name the same instrument (`RELIANCE` and its key)."""

    def __init__(self, first: str, second: str, key: str) -> None:
        self.first = first
        self.second = second
        self.key = key
        super().__init__(f"{first!r} and {second!r} are the same instrument ({key})")
