"""Raw candle columns to a clean, ascending frame, or every bad row by line.

Rules (each failing row is reported with its line and column; one bad row rejects the file):
- ts parses (see timestamps.py; offset-less times only in a zone the user names); open, high,
  low, close, volume are numbers; oi may be empty;
- prices are finite and > 0; volume and oi are >= 0;
- high >= max(open, close) and low <= min(open, close);
- rows run oldest first or newest first (the first and last timestamps decide; Upstox sends
  newest first), strictly: a repeated timestamp is a duplicate, a step the wrong way is out of order;
- intraday bars sit on whole minutes and on their day's grid: a whole number of intervals after
  the first bar of the same UTC day (sessions open at different times on different exchanges,
  and special sessions such as Muhurat trading open at their own time);
- 1d bars: at most one per date, the date taken in the timestamp's own offset (UTC for epochs).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd

from app.market.intervals import Interval
from app.market.problems import Lines, ProblemLog
from app.market.timestamps import iso, parse_timestamps

PRICES = ("open", "high", "low", "close")
COLUMNS = ("ts", *PRICES, "volume", "oi")
REQUIRED = ("ts", *PRICES, "volume")
DAY = 86400

Floats = npt.NDArray[np.float64]


def empty_candles() -> pd.DataFrame:
    """A frame of no candles with the stored dtypes."""
    return pd.DataFrame({c: np.array([], dtype=np.int64 if c == "ts" else np.float64) for c in COLUMNS})


def check_candles(
    raw: pd.DataFrame, lines: Lines, interval: Interval, source: str, *, zone: str | None = None
) -> pd.DataFrame:
    """Columns ts, open, high, low, close, volume[, oi] of any dtype (rows in file order, `lines`
    their line numbers) -> ts int64 ascending and float64 values. CandleImportError when any row is bad.
    `zone`: the IANA zone of offset-less times (bare dates allowed for daily bars), see timestamps.py.
    """
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise ValueError(f"candle frame lacks column(s) {', '.join(missing)}")
    if len(raw) == 0:
        return empty_candles()
    problems = ProblemLog()
    times = parse_timestamps(raw["ts"], lines, problems, zone=zone, dates=not interval.intraday)
    values = {c: _numbers(raw[c], lines, c, problems, required=True) for c in (*PRICES, "volume")}
    no_oi = np.full(len(raw), np.nan)
    values["oi"] = _numbers(raw["oi"], lines, "oi", problems, required=False) if "oi" in raw else no_oi
    _check_values(values, lines, problems)
    ts, offset, ok = times.ts, times.offset, times.ok
    valid = np.flatnonzero(ok)
    if valid.size >= 2 and ts[valid[0]] > ts[valid[-1]]:  # newest first: turn it round
        ts, offset, ok, lines = ts[::-1], offset[::-1], ok[::-1], lines[::-1]
        values = {c: v[::-1] for c, v in values.items()}
    _check_order(ts, offset, ok, lines, interval, problems)
    problems.raise_if_any(source)
    return pd.DataFrame({"ts": np.ascontiguousarray(ts), **{c: np.ascontiguousarray(values[c]) for c in COLUMNS[1:]}})


def _numbers(raw: pd.Series, lines: Lines, column: str, problems: ProblemLog, *, required: bool) -> Floats:
    """A numeric column as float64; non-numbers (and, when required, blanks) are logged."""
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        out = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        blank = np.isnan(out)
    else:
        text = raw.astype("str").str.strip()
        blank = (raw.isna() | (text == "")).to_numpy()
        out = pd.to_numeric(text.where(~blank), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        shown = raw.to_numpy()
        problems.add(lines, ~blank & np.isnan(out), column, lambda i: f"{shown[i]!r} is not a number")
    if required:
        problems.add(lines, blank, column, lambda i: "missing")
    return out


def _value_is(v: Floats, what: str) -> Callable[[int], str]:
    """The message for position i: the value, then `what`."""
    return lambda i: f"{v[i]} {what}"


def _check_values(values: dict[str, Floats], lines: Lines, problems: ProblemLog) -> None:
    with np.errstate(invalid="ignore"):
        for column in PRICES:
            v = values[column]
            problems.add(lines, ~np.isnan(v) & ~(np.isfinite(v) & (v > 0)), column, _value_is(v, "is not positive"))
        for column in ("volume", "oi"):
            v = values[column]
            problems.add(lines, ~np.isnan(v) & ~(np.isfinite(v) & (v >= 0)), column, _value_is(v, "is negative"))
        o, h, lo, c = (values[k] for k in PRICES)
        priced = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c) & (np.minimum(o, c) > 0)
        top, bottom = np.maximum(o, c), np.minimum(o, c)
        problems.add(lines, priced & (h < top), "high", lambda i: f"{h[i]} is below max(open, close) {top[i]}")
        problems.add(lines, priced & (lo > bottom), "low", lambda i: f"{lo[i]} is above min(open, close) {bottom[i]}")


def _check_order(
    ts: Lines, offset: Lines, ok: npt.NDArray[np.bool_], lines: Lines, interval: Interval, problems: ProblemLog
) -> None:
    """Strictly increasing time and the interval's grid, over the rows whose time parsed."""
    at = np.flatnonzero(ok)
    t, ln = ts[at], lines[at]
    if t.size == 0:
        return
    step = np.diff(t)
    prev = np.concatenate([[0], np.arange(t.size - 1)])  # position of each row's predecessor
    first = np.concatenate([[False], np.ones(t.size - 1, dtype=bool)])
    same = first & np.concatenate([[False], step == 0])
    back = first & np.concatenate([[False], step < 0])
    problems.add(ln, same, "ts", lambda i: f"duplicate timestamp {iso(t[i])} (also line {ln[prev[i]]})")
    problems.add(ln, back, "ts", lambda i: f"{iso(t[i])} is out of order after {iso(t[prev[i]])} on line {ln[prev[i]]}")
    if interval.intraday:
        problems.add(ln, t % 60 != 0, "ts", lambda i: f"{iso(t[i])} is not on a whole minute")
        day_first = pd.Series(t).groupby(t // DAY).transform("min").to_numpy()
        off_grid = (t % 60 == 0) & ((t - day_first) % interval.seconds != 0)
        problems.add(
            ln,
            off_grid,
            "ts",
            lambda i: f"{iso(t[i])} is off the {interval.name} grid of its day (first bar {iso(day_first[i])})",
        )
    else:
        date = (t + offset[at]) // DAY
        twice = first & ~same & np.concatenate([[False], date[1:] == date[:-1]])
        problems.add(
            ln,
            twice,
            "ts",
            lambda i: f"second 1d bar on {iso(int(date[i]) * DAY)[:10]} (also line {ln[prev[i]]})",
        )
