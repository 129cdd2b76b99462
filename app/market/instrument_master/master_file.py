"""Upstox's instrument file (`NSE.json.gz`, `complete.json.gz`, or the same JSON uncompressed)
read into rows of the `instruments` table.

The file is one JSON array of objects: `instrument_key`, `trading_symbol`, `name`, `exchange`,
`segment`, `instrument_type`, `isin`, `lot_size`, `freeze_quantity`, `exchange_token`,
`tick_size` (in PAISE: 5.0 is Rs 0.05), `short_name`, `security_type`, and for derivatives
`expiry` (epoch milliseconds), `strike_price`, `underlying_key`... Fields we do not keep are
ignored. Stored: `tick_size` in rupees, `expiry` in epoch seconds.

What is refused and what is skipped:
- the file as a whole: not gzip/JSON, not an array, an element that is not an object or has no
  `segment`, or no instruments at all: refused;
- a row of NSE_EQ, NSE_INDEX or NSE_FO (the segments signaldesk trades and charts) with a
  required field missing or wrong (`instrument_key` well-formed, of the row's segment and not
  repeated; `trading_symbol`, `exchange`, `instrument_type`; `tick_size` > 0 and whole
  `lot_size` >= 1 for NSE_EQ and NSE_FO; `expiry` for NSE_FO) or an optional one of the wrong
  type: the whole file is refused, naming every such row by index and field;
- the same fault in a row of any other segment (BSE_EQ, MCX_FO, ...): that row is skipped and
  counted per segment (the sync reports the counts and the first faults); the rest loads.
"""

from __future__ import annotations

import gzip
import math
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from app.market.errors import InvalidInstrumentKey
from app.market.instrument_master.errors import MasterFileError, RowFault
from app.market.instruments import SEGMENT, parse_instrument_key

STRICT_SEGMENTS = frozenset({"NSE_EQ", "NSE_INDEX", "NSE_FO"})
TRADED_SEGMENTS = frozenset({"NSE_EQ", "NSE_FO"})  # tick_size and lot_size required
GZIP_MAGIC = b"\x1f\x8b"
SHOWN_SKIPPED = 20


@dataclass(slots=True)
class MasterRows:
    """The rows to store, and what was left out."""

    rows: list[dict[str, Any]]
    loaded: Counter[str] = field(default_factory=Counter)  # per segment
    skipped: Counter[str] = field(default_factory=Counter)  # per segment
    skipped_faults: list[RowFault] = field(default_factory=list)  # the first SHOWN_SKIPPED


class _Bad(ValueError):
    """One field's fault inside a row."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        super().__init__(message)


def read_master(data: bytes, source: str) -> MasterRows:
    """The instrument file's rows; MasterFileError (nothing to store) when it is refused."""
    items = _decode(data, source)
    result = MasterRows(rows=[])
    faults: list[RowFault] = []
    total = 0
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise MasterFileError(source, f"row {index} is not a JSON object: not an Upstox instrument file")
        segment = item.get("segment")
        if not isinstance(segment, str) or not SEGMENT.fullmatch(segment):
            raise MasterFileError(
                source, f"row {index}, segment: {segment!r} is not a segment such as NSE_EQ", [], total=1
            )
        try:
            row = _row(item, segment, seen)
        except _Bad as e:
            fault = RowFault(index, e.field, str(e))
            if segment in STRICT_SEGMENTS:
                total += 1
                if len(faults) < MasterFileError.MAX_FAULTS:
                    faults.append(fault)
            else:
                result.skipped[segment] += 1
                if len(result.skipped_faults) < SHOWN_SKIPPED:
                    result.skipped_faults.append(fault)
            continue
        seen.add(row["instrument_key"])
        result.rows.append(row)
        result.loaded[segment] += 1
    if total:
        raise MasterFileError(source, f"{total} bad rows of {', '.join(sorted(STRICT_SEGMENTS))}", faults, total=total)
    if not result.rows:
        raise MasterFileError(source, "no instruments in the file: the stored master is kept")
    return result


def _decode(data: bytes, source: str) -> list[Any]:
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise MasterFileError(source, f"not a readable gzip file: {e}") from e
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise MasterFileError(source, f"not JSON: {e}") from e
    if not isinstance(items, list):
        raise MasterFileError(source, f"a JSON {type(items).__name__} instead of an array of instruments")
    return items


def _row(item: dict[str, Any], segment: str, seen: set[str]) -> dict[str, Any]:
    key = _text(item, "instrument_key", 64, required=True)
    assert key is not None
    try:
        parse_instrument_key(key)
    except InvalidInstrumentKey as e:
        raise _Bad("instrument_key", e.reason) from e
    if key.partition("|")[0] != segment:
        raise _Bad("instrument_key", f"{key!r} is not of the row's segment {segment}")
    if key in seen:
        raise _Bad("instrument_key", f"{key!r} appears twice")
    traded = segment in TRADED_SEGMENTS
    symbol = _text(item, "trading_symbol", 128, required=True)
    assert symbol is not None
    tick = _number(item, "tick_size", required=traded, positive=True)
    lot = _number(item, "lot_size", required=traded, positive=True, whole=True)
    expiry = _number(item, "expiry", required=segment == "NSE_FO", whole=True)
    return {
        "instrument_key": key,
        "trading_symbol": symbol,
        "symbol_upper": symbol.upper(),
        "name": _text(item, "name", 256),
        "exchange": _text(item, "exchange", 16, required=True),
        "segment": segment,
        "instrument_type": _text(item, "instrument_type", 24, required=True),
        "isin": _text(item, "isin", 16),
        "exchange_token": _text(item, "exchange_token", 32, numbers=True),
        "tick_size": round(tick / 100, 6) if tick is not None else None,
        "lot_size": int(lot) if lot is not None else None,
        "freeze_quantity": _number(item, "freeze_quantity"),
        "short_name": _text(item, "short_name", 256),
        "security_type": _text(item, "security_type", 32),
        "expiry": int(expiry) // 1000 if expiry is not None else None,
        "strike_price": _number(item, "strike_price"),
        "underlying_key": _text(item, "underlying_key", 64),
    }


def _text(item: dict[str, Any], name: str, width: int, *, required: bool = False, numbers: bool = False) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise _Bad(name, "missing" if value is None else "empty")
        return None
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _Bad(name, f"{value!r} is not a string")
    if len(value) > width:
        raise _Bad(name, f"longer than {width} characters")
    return value


def _number(
    item: dict[str, Any], name: str, *, required: bool = False, positive: bool = False, whole: bool = False
) -> float | None:
    value = item.get(name)
    if value is None:
        if required:
            raise _Bad(name, "missing")
        return None
    checks: list[tuple[Callable[[float], bool], str]] = [(math.isfinite, "not a finite number")]
    if positive:
        checks.append((lambda v: v > 0, "must be > 0"))
    if whole:
        checks.append((lambda v: v == int(v), "must be a whole number"))
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(name, f"{value!r} is not a number")
    number = float(value)
    for check, message in checks:
        if not check(number):
            raise _Bad(name, f"{value!r}: {message}")
    return number
