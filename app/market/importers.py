"""Candle files to clean frames: CSV, Parquet and Upstox's historical-candle JSON.

The format comes from the file name's extension (.csv, .parquet/.pq, .json) or, failing that,
from the content (`PAR1` magic: Parquet; a leading `{`: JSON; otherwise CSV). Every row is
checked (candle_checks.py) and the file is rejected whole when any row is bad, so a caller
stores all of a file or none of it. Line numbers in problems: CSV counts physical lines with the
header as line 1; Parquet and JSON count rows (JSON: the position in `data.candles`), from 1.

CSV: UTF-8, comma-separated, a header row naming the columns in any case; extra columns are
ignored, blank lines skipped. The time column is one of ts, timestamp, time, date, datetime;
open interest may be `oi` or `open_interest` and may be absent or blank.

Times without a UTC offset are refused unless the caller names their zone (`zone`, the CLI's
`--tz`): see timestamps.py.
"""

from __future__ import annotations

import csv
import io
import re
from enum import Enum
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from app.market.candle_checks import check_candles, empty_candles
from app.market.errors import CandleImportError, RowProblem
from app.market.intervals import Interval
from app.market.problems import Lines, ProblemLog

TIME_NAMES = ("ts", "timestamp", "time", "date", "datetime")
NAMES = {
    **{n: "ts" for n in TIME_NAMES},
    **{n: n for n in ("open", "high", "low", "close", "volume")},
    "oi": "oi",
    "open_interest": "oi",
}
RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
UPSTOX_FIELDS = ("ts", "open", "high", "low", "close", "volume", "oi")


class CandleFormat(str, Enum):
    CSV = "csv"
    PARQUET = "parquet"
    JSON = "json"


EXTENSIONS = {
    ".csv": CandleFormat.CSV,
    ".parquet": CandleFormat.PARQUET,
    ".pq": CandleFormat.PARQUET,
    ".json": CandleFormat.JSON,
}


def detect_format(name: str | None, head: bytes) -> CandleFormat:
    """The format a file's extension names, else the one its first bytes show."""
    if name is not None and (fmt := EXTENSIONS.get(Path(name).suffix.lower())) is not None:
        return fmt
    if head.startswith(b"PAR1"):
        return CandleFormat.PARQUET
    if head.lstrip().startswith(b"{"):
        return CandleFormat.JSON
    return CandleFormat.CSV


def load_candle_file(
    path: Path, interval: Interval, fmt: CandleFormat | None = None, *, zone: str | None = None
) -> pd.DataFrame:
    """Read and check a candle file; CandleImportError when it cannot be read or any row is bad.
    `zone`: the IANA zone of offset-less times, when the user named one (timestamps.py)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CandleImportError(str(path), f"cannot read: {e.strerror or e}") from e
    fmt = fmt or detect_format(path.name, data[:64])
    return load_candles(data, interval, fmt=fmt, source=str(path), zone=zone)


def load_candles(
    data: bytes,
    interval: Interval,
    *,
    fmt: CandleFormat | None = None,
    source: str = "upload",
    zone: str | None = None,
) -> pd.DataFrame:
    """Parse and check candle bytes: ts int64 (bar open, UTC epoch seconds) ascending, then
    open, high, low, close, volume, oi float64 (oi NaN when the file has none)."""
    fmt = fmt or detect_format(None, data[:64])
    reader = {CandleFormat.CSV: _read_csv, CandleFormat.PARQUET: _read_parquet, CandleFormat.JSON: _read_upstox_json}
    raw, lines = reader[fmt](data, source)
    return check_candles(raw, lines, interval, source, zone=zone)


def check_upstox_candles(candles: list[object], interval: Interval, source: str) -> pd.DataFrame:
    """Upstox's `data.candles` rows checked as a file's (rows counted from 1 in its order)."""
    raw, lines = _upstox_rows(candles, source)
    return check_candles(raw, lines, interval, source)


def _columns(names: list[str], source: str) -> dict[int, str]:
    """Position -> canonical column for the columns we use; CandleImportError when one is missing or twice."""
    found: dict[str, list[str]] = {}
    used: dict[int, str] = {}
    for position, name in enumerate(names):
        canonical = NAMES.get(str(name).strip().lower())
        if canonical is not None:
            found.setdefault(canonical, []).append(str(name))
            used[position] = canonical
    twice = {c: n for c, n in found.items() if len(n) > 1}
    if twice:
        c, n = next(iter(twice.items()))
        raise CandleImportError(source, f"columns {', '.join(n)} all mean {c}; keep one")
    lacking = [c for c in ("ts", "open", "high", "low", "close", "volume") if c not in found]
    if lacking:
        want = "time (ts, timestamp, time, date or datetime)" if "ts" in lacking else ""
        names_needed = [want] + [c for c in lacking if c != "ts"]
        raise CandleImportError(
            source, f"no column for {', '.join(n for n in names_needed if n)} (columns: {', '.join(map(str, names))})"
        )
    return used


def _read_csv(data: bytes, source: str) -> tuple[pd.DataFrame, Lines]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CandleImportError(source, f"not UTF-8 text (byte {e.start})") from e
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0])), [])
    used = _columns(header, source)
    ts_name = header[next(p for p, c in used.items() if c == "ts")]
    try:
        raw = pd.read_csv(
            io.StringIO(text),
            index_col=False,
            dtype={ts_name: "str"},
            skip_blank_lines=False,
            keep_default_na=False,
            na_values=[""],
        )
    except pd.errors.ParserError as e:
        ragged = RAGGED.search(str(e))
        if ragged is None:
            raise CandleImportError(source, f"not a readable CSV file: {e}") from e
        want, line, saw = ragged.groups()
        problem = RowProblem(int(line), "row", f"{saw} fields where the header has {want}")
        raise CandleImportError(source, "a row has more fields than the header; nothing imported", [problem]) from e
    except ValueError as e:
        raise CandleImportError(source, f"not a readable CSV file: {e}") from e
    raw = raw.iloc[:, sorted(used)].set_axis([used[p] for p in sorted(used)], axis=1)
    lines = np.arange(2, len(raw) + 2, dtype=np.int64)
    blank = raw.isna().all(axis=1).to_numpy()  # a blank line: skip it, keep the others' line numbers
    return raw[~blank].reset_index(drop=True), lines[~blank]


def _read_parquet(data: bytes, source: str) -> tuple[pd.DataFrame, Lines]:
    try:
        raw = pd.read_parquet(io.BytesIO(data))
    except Exception as e:  # pyarrow raises several unrelated types for a damaged file
        raise CandleImportError(source, f"not a readable Parquet file: {e}") from e
    if not isinstance(raw.index, pd.RangeIndex):
        raw = raw.reset_index()  # a time index saved by pandas becomes a column again
    used = _columns([str(c) for c in raw.columns], source)
    raw = raw.iloc[:, list(used)].set_axis(list(used.values()), axis=1).reset_index(drop=True)
    return raw, np.arange(1, len(raw) + 1, dtype=np.int64)


def _read_upstox_json(data: bytes, source: str) -> tuple[pd.DataFrame, Lines]:
    """`{"status": "success", "data": {"candles": [[ts, open, high, low, close, volume, oi], ...]}}`."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise CandleImportError(source, f"not JSON: {e}") from e
    if isinstance(body, dict) and body.get("status") == "error":
        errors = body.get("errors") or [{}]
        message = errors[0].get("message") if isinstance(errors[0], dict) else None
        raise CandleImportError(source, f"an Upstox error response, not candles: {message or errors!r}")
    data_field = body.get("data") if isinstance(body, dict) else None
    candles = data_field.get("candles") if isinstance(data_field, dict) else None
    if not isinstance(candles, list):
        raise CandleImportError(source, 'not an Upstox candle response: no list at "data.candles"')
    return _upstox_rows(candles, source)


def _upstox_rows(candles: list[object], source: str) -> tuple[pd.DataFrame, Lines]:
    """`data.candles` rows ([ts, open, high, low, close, volume[, oi]]) as raw columns."""
    problems = ProblemLog()
    for i, row in enumerate(candles):
        if not isinstance(row, list) or len(row) not in (6, 7):
            problems.add_one(i + 1, "row", f"expected [timestamp, open, high, low, close, volume, oi], got {row!r:.80}")
    problems.raise_if_any(source)
    if not candles:
        return empty_candles(), np.zeros(0, dtype=np.int64)
    rows = [row if len(row) == 7 else [*row, None] for row in candles if isinstance(row, list)]  # oi is optional
    raw = pd.DataFrame(rows, columns=list(UPSTOX_FIELDS))
    return raw, np.arange(1, len(raw) + 1, dtype=np.int64)
