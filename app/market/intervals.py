"""Bar intervals: canonical names, the aliases people and vendors use, and their length."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

from app.market.errors import UnknownInterval


@dataclass(frozen=True, slots=True)
class Interval:
    name: str  # canonical: 1m 3m 5m 10m 15m 30m 1h 1d
    seconds: int  # bar length; 1d bars span a whole session

    @property
    def intraday(self) -> bool:
        return self.name != "1d"


CANONICAL: dict[str, Interval] = {
    i.name: i
    for i in (
        Interval("1m", 60),
        Interval("3m", 180),
        Interval("5m", 300),
        Interval("10m", 600),
        Interval("15m", 900),
        Interval("30m", 1800),
        Interval("1h", 3600),
        Interval("1d", 86400),
    )
}

# Upstox (`1minute`, `30minute`, `day`), pandas-ish (`1min`, `1T`, `1H`, `1D`) and plain words.
ALIASES: dict[str, str] = {
    **{f"{n}minute": f"{n}m" for n in (1, 3, 5, 10, 15, 30)},
    **{f"{n}min": f"{n}m" for n in (1, 3, 5, 10, 15, 30)},
    **{f"{n}t": f"{n}m" for n in (1, 3, 5, 10, 15, 30)},
    "minute": "1m",
    "60m": "1h",
    "60minute": "1h",
    "60min": "1h",
    "hour": "1h",
    "1hour": "1h",
    "day": "1d",
    "1day": "1d",
    "daily": "1d",
    "d": "1d",
}


def parse_interval(text: str) -> Interval:
    """The Interval for a canonical name or alias (case-insensitive); UnknownInterval otherwise."""
    key = text.strip().lower()
    key = ALIASES.get(key, key)
    interval = CANONICAL.get(key)
    if interval is None:
        raise UnknownInterval(text, tuple(CANONICAL))
    return interval


def canonical_name(text: str) -> str:
    """parse_interval(text).name, failing with the ValueError pydantic reports per field."""
    try:
        return parse_interval(text).name
    except UnknownInterval as e:
        raise ValueError(str(e)) from e


IntervalName = Annotated[str, AfterValidator(canonical_name)]
"""A model field holding an interval: aliases accepted, stored canonical."""
