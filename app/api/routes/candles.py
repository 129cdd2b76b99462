"""Stored candles: GET /api/candles (a range), GET /api/candles/instruments, POST /api/candles/import."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import orjson
import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from app.api.deps import CandlesDep
from app.api.schemas.candles import CandlePage, ImportOut, SeriesOut
from app.api.schemas.errors import errors
from app.api.security import require_token
from app.market.errors import CandleImportError, MarketDataError
from app.market.importers import CandleFormat, load_candles
from app.market.instruments import parse_instrument_key
from app.market.intervals import parse_interval
from app.market.timestamps import parse_moment, time_zone

router = APIRouter(
    prefix="/api/candles", tags=["candles"], dependencies=[Depends(require_token)], responses=errors(401, 422)
)

T = TypeVar("T")
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
IMPORT_PATH = "/api/candles/import"
CONTENT_TYPES = {
    "text/csv": CandleFormat.CSV,
    "application/json": CandleFormat.JSON,
    "application/vnd.apache.parquet": CandleFormat.PARQUET,
    "application/x-parquet": CandleFormat.PARQUET,
}
# What the import's body may be sent as (app.api.guards): its formats, or bytes to sniff.
IMPORT_TYPES = frozenset({*CONTENT_TYPES, "application/octet-stream", ""})


class _Fields:
    """Checks query fields, gathering every bad one into one 422."""

    def __init__(self) -> None:
        self.problems: list[dict[str, object]] = []

    def check(self, name: str, parse: Callable[[str], T], text: str | None) -> T | None:
        """`parse(text)`, or None (and a problem naming the field) when it fails; None for None."""
        if text is None:
            return None
        try:
            return parse(text)
        except (MarketDataError, ValueError) as e:
            self.add(name, str(e))
            return None

    def add(self, name: str, msg: str) -> None:
        self.problems.append({"loc": ["query", name], "msg": msg})

    def raise_if_any(self) -> None:
        if self.problems:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, self.problems)


@router.get("", response_model=CandlePage, summary="Stored candles of one instrument and interval, oldest first")
async def read_candles(
    store: CandlesDep,
    instrument_key: Annotated[str, Query(description="EXCHANGE_SEGMENT|IDENTIFIER, e.g. NSE_EQ|INE002A01018")],
    interval: Annotated[str, Query(description="1m 3m 5m 10m 15m 30m 1h 1d, or an alias (1minute, day, ...)")],
    start: Annotated[str | None, Query(description="first bar open: epoch seconds or ISO-8601 with offset")] = None,
    end: Annotated[str | None, Query(description="last bar open (inclusive), like start")] = None,
) -> Response:
    fields = _Fields()
    key = fields.check("instrument_key", parse_instrument_key, instrument_key)
    iv = fields.check("interval", parse_interval, interval)
    lo, hi = fields.check("start", parse_moment, start), fields.check("end", parse_moment, end)
    if lo is not None and hi is not None and lo > hi:
        fields.add("end", f"end {end!r} is before start {start!r}")
    fields.raise_if_any()
    assert key is not None and iv is not None
    frame = await store.read(key, iv, lo, hi)
    if frame.empty and not await store.has(key, iv):
        detail = f"no {iv.name} candles stored for {key}; import some with POST /api/candles/import"
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail)
    body = await asyncio.to_thread(_page, key, iv.name, frame)
    return Response(body, media_type="application/json")


@router.get("/instruments", response_model=list[SeriesOut], summary="Every stored instrument and interval")
async def read_instruments(store: CandlesDep) -> list[SeriesOut]:
    return [SeriesOut(**s._asdict()) for s in await store.instruments()]


@router.post(
    "/import",
    max_body_size=MAX_UPLOAD_BYTES,
    response_model=ImportOut,
    summary="Import a candle file sent as the raw body: all of it, or nothing (422 with every bad row)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in CONTENT_TYPES},
        }
    },
)
async def import_candles(
    request: Request,
    store: CandlesDep,
    instrument_key: Annotated[str, Query(description="EXCHANGE_SEGMENT|IDENTIFIER, e.g. NSE_EQ|INE002A01018")],
    interval: Annotated[str, Query(description="1m 3m 5m 10m 15m 30m 1h 1d, or an alias")],
    format: Annotated[
        CandleFormat | None, Query(description="csv, parquet or json; default: from Content-Type, else the content")
    ] = None,
    tz: Annotated[
        str | None,
        Query(
            description="IANA zone of times without a UTC offset, e.g. Asia/Kolkata (without it they are refused); "
            "a bare date is that day's session open, 09:15 IST (daily bars only)"
        ),
    ] = None,
) -> ImportOut:
    fields = _Fields()
    key = fields.check("instrument_key", parse_instrument_key, instrument_key)
    iv = fields.check("interval", parse_interval, interval)
    zone = fields.check("tz", time_zone, tz)
    fields.raise_if_any()
    assert key is not None and iv is not None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()  # IMPORT_TYPES
    data = await _body(request)
    try:
        fmt = format or CONTENT_TYPES.get(content_type)
        frame = await asyncio.to_thread(load_candles, data, iv, fmt=fmt, source="body", zone=zone)
    except CandleImportError as e:
        detail: list[dict[str, Any]] = [{"loc": ["body"], "msg": e.reason}]
        detail += [{"loc": ["body", p.line, p.column], "msg": p.message} for p in e.problems]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from e
    written = await store.upsert(key, iv, frame)
    ts = frame["ts"]
    return ImportOut(
        instrument_key=key,
        interval=iv.name,
        rows=len(frame),
        written=written,
        unchanged=len(frame) - written,
        first_ts=int(ts.iloc[0]) if len(ts) else None,
        last_ts=int(ts.iloc[-1]) if len(ts) else None,
    )


async def _body(request: Request) -> bytes:
    """The request body, refused (413) beyond MAX_UPLOAD_BYTES without reading all of it."""
    too_big = HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"a candle file may be {MAX_UPLOAD_BYTES} bytes at most")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


PAGE_CHUNK = 50_000
"""Candles encoded per call: `_page` runs on a thread, and one orjson call over a 5-year
1-minute series (468,750 candles) held the GIL, and so the event loop, for ~0.11 s."""


def _page(key: str, interval: str, frame: pd.DataFrame) -> bytes:
    """The page's JSON, its candles encoded PAGE_CHUNK at a time."""
    names = ("ts", "open", "high", "low", "close", "volume", "oi")
    parts = []
    for start in range(0, len(frame), PAGE_CHUNK):
        part = frame.iloc[start : start + PAGE_CHUNK]
        columns = [part[c].tolist() for c in names[:-1]]
        oi = [None if v != v else v for v in part["oi"].tolist()]
        parts.append(orjson.dumps([dict(zip(names, row, strict=True)) for row in zip(*columns, oi, strict=True)])[1:-1])
    head = orjson.dumps({"instrument_key": key, "interval": interval, "candles": []})[:-2]  # up to the list's "["
    return head + b",".join(parts) + b"]}"
