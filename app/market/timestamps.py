"""Timestamps of candle files to UTC epoch seconds.

Accepted: ISO-8601 with a UTC offset (`2026-11-24T15:29:00+05:30`, `...Z`, a space instead of
`T`), epoch seconds, or epoch milliseconds (any value >= 10^11, i.e. after 1973 in ms), and
time-zone-aware timestamp columns (Parquet). A timestamp without an offset is rejected: a naive
`09:15` is IST to one vendor and UTC to another, and guessing would shift every bar silently.
Unless the user names the zone (`--tz Asia/Kolkata`): then an offset-less time is that
zone's wall time, and a bare date (`2024-01-02`, the common daily file) is that date's NSE
session open, 09:15 IST (03:45 UTC): where the calendar's 1d grid and the simulated market put
a daily bar, so a day's bar has one timestamp whichever way it came in. Bare dates are for
daily bars only (`dates=True`); in an intraday file they are refused.
Times must be whole seconds between 1970 and 2100.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd

from app.market.calendar import IST_OFFSET, SESSION_OPEN_UTC
from app.market.problems import Lines, Mask, ProblemLog

EPOCH_MS_FROM = 10**11
LATEST = 4_102_444_800  # 2100-01-01T00:00:00Z
# An offset right after a clock time; a bare date ("2024-01-02") has none, whatever its dashes say.
ISO_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s?(?P<offset>[Zz]|[+-]\d{2}(?::?\d{2})?)$"
EPOCH_TEXT = r"^\d+(?:\.\d+)?$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}"
BARE_DATE = r"^\d{4}-\d{2}-\d{2}$"

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Times:
    """Per row: epoch seconds, the row's own UTC offset in seconds (0 for epochs), and validity."""

    ts: Ints
    offset: Ints
    ok: Mask
    parsed: Mask  # read as a time or number (so a failure is about its range, not its form)

    @classmethod
    def empty(cls, n: int) -> Times:
        zeros = np.zeros(n, dtype=np.int64)
        return cls(zeros, zeros.copy(), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))


def time_zone(name: str) -> str:
    """`name` when it is a known IANA zone (the zone a user names for offset-less times);
    ValueError naming it otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Asia/Kolkata)") from e
    return name


def iso(ts: int) -> str:
    """An epoch second as ISO-8601 UTC, for messages."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamps(
    raw: pd.Series,
    lines: Lines,
    problems: ProblemLog,
    column: str = "ts",
    *,
    zone: str | None = None,
    dates: bool = False,
) -> Times:
    """Parse a timestamp column, logging each row that is missing, naive (without `zone`),
    malformed or out of range. `zone`: the IANA zone of offset-less times; `dates`: bare dates
    are daily bars' dates (see the module docstring)."""
    n = len(raw)
    times = Times.empty(n)
    present = raw.notna().to_numpy()
    values = raw.to_numpy()
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        _from_aware(raw, present, times)
    elif pd.api.types.is_datetime64_dtype(raw.dtype):
        problems.add(lines, present, column, lambda i: f"{values[i]} has no time zone (naive timestamp column)")
        return times
    elif pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        _from_epoch(raw.to_numpy(dtype=np.float64, na_value=np.nan), present, times)
    else:
        text = raw.astype("str").str.strip()
        present = present & (text != "").to_numpy()
        _from_text(text, present, lines, problems, column, values, times, zone, dates)
    problems.add(lines, ~present, column, lambda i: "missing")
    problems.add(
        lines, present & ~times.ok & times.parsed, column, lambda i: f"{values[i]!r} is not a whole second in 1970-2100"
    )
    return times


def _from_aware(raw: pd.Series, present: Mask, times: Times) -> None:
    utc_ns = raw.dt.tz_convert("UTC").dt.as_unit("ns").array.asi8
    local_ns = raw.dt.tz_localize(None).dt.as_unit("ns").array.asi8
    _from_epoch(np.where(present, utc_ns / 1e9, np.nan), present, times)
    times.offset[present] = (local_ns[present] - utc_ns[present]) // 10**9


def _from_epoch(seconds_or_ms: npt.NDArray[np.float64], where: Mask, times: Times) -> None:
    """Rows in `where` whose value is whole epoch seconds (or ms >= 10^11) within 1970-2100."""
    times.parsed[where] = True
    v = np.where(where, seconds_or_ms, np.nan)
    with np.errstate(invalid="ignore"):
        seconds = np.where(v >= EPOCH_MS_FROM, v / 1000.0, v)
        good = np.isfinite(seconds) & (seconds > 0) & (seconds < LATEST) & (seconds == np.floor(seconds))
    times.ts[good] = seconds[good].astype(np.int64)
    times.ok[good] = True


def _from_text(
    text: pd.Series,
    present: Mask,
    lines: Lines,
    problems: ProblemLog,
    column: str,
    values: np.ndarray,
    times: Times,
    zone: str | None,
    dates: bool,
) -> None:
    epoch = present & text.str.match(EPOCH_TEXT).to_numpy(dtype=bool, na_value=False)
    if epoch.any():
        _from_epoch(pd.to_numeric(text.where(epoch), errors="coerce").to_numpy(dtype=np.float64), epoch, times)
    found = text.str.extract(ISO_OFFSET)["offset"]
    has_offset = present & ~epoch & found.notna().to_numpy()
    dated = text.str.match(ISO_DATE).to_numpy(dtype=bool, na_value=False)
    naive = present & ~epoch & ~has_offset
    if zone is not None and (naive & dated).any():
        _from_zone(text, naive & dated, lines, problems, column, values, times, zone, dates)
        naive = naive & ~dated
    problems.add(lines, naive & dated, column, lambda i: f"{values[i]!r} has no UTC offset (add one, e.g. +05:30 or Z)")
    problems.add(lines, naive & ~dated, column, lambda i: f"{values[i]!r} is neither ISO-8601 nor epoch seconds")
    if not has_offset.any():
        return
    parsed = pd.to_datetime(text.where(has_offset), utc=True, format="ISO8601", errors="coerce")
    good = has_offset & parsed.notna().to_numpy()
    problems.add(lines, has_offset & ~good, column, lambda i: f"{values[i]!r} is not an ISO-8601 timestamp")
    utc_ns = parsed.dt.as_unit("ns").array.asi8
    _from_epoch(np.where(good, utc_ns / 1e9, np.nan), good, times)
    times.offset[good] = _offset_seconds(found[good])


def _from_zone(
    text: pd.Series,
    naive: Mask,
    lines: Lines,
    problems: ProblemLog,
    column: str,
    values: np.ndarray,
    times: Times,
    zone: str,
    dates: bool,
) -> None:
    """Offset-less ISO times as `zone`'s wall time; bare dates as their NSE session open."""
    bare = naive & text.str.match(BARE_DATE).to_numpy(dtype=bool, na_value=False)
    if bare.any():
        if not dates:
            problems.add(
                lines,
                bare,
                column,
                lambda i: f"{values[i]!r} is a date without a time (an intraday bar needs its time)",
            )
        else:
            days = pd.to_datetime(text.where(bare), format="%Y-%m-%d", errors="coerce")
            good = bare & days.notna().to_numpy()
            problems.add(lines, bare & ~good, column, lambda i: f"{values[i]!r} is not a date")
            midnight = days.dt.as_unit("s").array.asi8  # as UTC midnight of that date
            _from_epoch(np.where(good, midnight + SESSION_OPEN_UTC, np.nan).astype(np.float64), good, times)
            times.offset[good] = IST_OFFSET
    timed = naive & ~bare
    if not timed.any():
        return
    wall = pd.to_datetime(text.where(timed), format="ISO8601", errors="coerce")
    local = wall.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    good = timed & local.notna().to_numpy()
    problems.add(
        lines,
        timed & wall.notna().to_numpy() & ~good,
        column,
        lambda i: f"{values[i]!r} does not exist or is ambiguous in {zone} (a clock change)",
    )
    problems.add(lines, timed & wall.isna().to_numpy(), column, lambda i: f"{values[i]!r} is not an ISO-8601 timestamp")
    utc_ns = local.dt.tz_convert("UTC").dt.as_unit("ns").array.asi8
    wall_ns = wall.dt.as_unit("ns").array.asi8
    _from_epoch(np.where(good, utc_ns / 1e9, np.nan), good, times)
    times.offset[good] = (wall_ns[good] - utc_ns[good]) // 10**9


def _offset_seconds(found: pd.Series) -> Ints:
    """'+05:30', '-0400', '+05', 'Z' -> seconds east of UTC."""
    text = found.str.upper().str.replace(":", "", regex=False).replace("Z", "+0000")
    text = text.where(text.str.len() == 5, text + "00")
    sign = np.where((text.str[0] == "-").to_numpy(), -1, 1)
    hours = text.str[1:3].astype(np.int64).to_numpy()
    minutes = text.str[3:5].astype(np.int64).to_numpy()
    return (sign * (hours * 3600 + minutes * 60)).astype(np.int64)


def parse_moment(text: str) -> int:
    """One moment as epoch seconds: digits (seconds, or ms from 10^11) or ISO-8601 with an offset.

    ValueError saying what was expected; a bare date or a time without an offset is refused like
    in files.
    """
    value = text.strip()
    if re.fullmatch(EPOCH_TEXT, value):
        number = float(value)
        seconds = number / 1000.0 if number >= EPOCH_MS_FROM else number
        if seconds != int(seconds) or not 0 <= seconds < LATEST:
            raise ValueError(f"{text!r} is not a whole second in 1970-2100")
        return int(seconds)
    if not re.search(ISO_OFFSET, value):
        raise ValueError(f"{text!r} is neither epoch seconds nor ISO-8601 with a UTC offset (e.g. +05:30 or Z)")
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as e:
        raise ValueError(f"{text!r} is not an ISO-8601 timestamp") from e
    return int(moment.timestamp())
