"""Candle files for tests: valid NSE minute bars as CSV rows or an Upstox response."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson

IST = timezone(timedelta(hours=5, minutes=30))
SESSION_OPEN = datetime(2026, 11, 24, 9, 15, tzinfo=IST)  # 03:45 UTC
OPEN_TS = int(SESSION_OPEN.timestamp())
HEADER = "ts,open,high,low,close,volume,oi"


def bars(n: int, *, step: int = 60, start: datetime = SESSION_OPEN) -> list[list[object]]:
    """n valid bars, oldest first: [iso, open, high, low, close, volume, oi]."""
    out: list[list[object]] = []
    for i in range(n):
        price = 2870.0 + i
        at = (start + timedelta(seconds=i * step)).isoformat()
        out.append([at, price, price + 2.5, price - 1.5, price + 0.5, 1000 + i, 0])
    return out


def csv_bytes(rows: list[list[object]], header: str = HEADER) -> bytes:
    return ("\n".join([header, *(",".join(str(v) for v in row) for row in rows)]) + "\n").encode()


def upstox_json(rows: list[list[object]]) -> bytes:
    """Upstox's historical-candle response: newest first."""
    return orjson.dumps({"status": "success", "data": {"candles": list(reversed(rows))}})
