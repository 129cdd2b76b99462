"""Candles for training tests: on the NSE 1m grid, optionally with predictable returns."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np

from app.market.calendar import NseCalendar
from app.market.intervals import CANONICAL

RELIANCE = "NSE_EQ|INE002A01018"


def candles_csv(sessions: int, *, phi: float = 0.0, seed: int = 1, year: int = 2024) -> bytes:
    """`sessions` sessions of 1m candles from the start of `year`; returns AR(1) with coefficient phi."""
    opens = NseCalendar().bar_grid(CANONICAL["1m"], year)[0][: sessions * 375]
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 0.001, len(opens))
    r = np.zeros(len(opens))
    for t in range(1, len(opens)):
        r[t] = phi * r[t - 1] + noise[t]
    close = np.round(2900 * np.exp(np.cumsum(r)), 2)
    open_ = np.concatenate([[2900.0], close[:-1]])
    high = np.maximum(open_, close) + 0.5
    low = np.minimum(open_, close) - 0.5
    lines = ["ts,open,high,low,close,volume"]
    lines += [f"{t},{o},{h},{lo},{c},1000" for t, o, h, lo, c in zip(opens, open_, high, low, close, strict=True)]
    return ("\n".join(lines) + "\n").encode()


def import_candles(http: str, key: str, body: bytes) -> dict[str, Any]:
    r = httpx.post(
        f"{http}/api/candles/import",
        params={"instrument_key": key, "interval": "1m"},
        content=body,
        headers={"content-type": "text/csv"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


SLOW_LGBM = {"n_estimators": 20000, "learning_rate": 0.001, "num_threads": 1}  # ~8 s per fold
