"""Real daily data through the CSV path: arch's S&P 500 OHLCV, stamped 16:00 New York time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from arch.data import sp500

from app.market.candles import CandleStore
from app.market.importers import load_candle_file
from app.market.intervals import parse_interval
from app.storage.db import Database
from app.storage.migrate import upgrade_async

KEY = "INDEX|SP500"
NEW_YORK = ZoneInfo("America/New_York")


def sp500_csv(path: Path) -> pd.DataFrame:
    """arch's data as a CSV: Date (the day at 16:00 New York, with its offset), OHLC, Adj Close, Volume."""
    data = sp500.load()
    closes = (data.index + pd.Timedelta(hours=16)).tz_localize(NEW_YORK)
    out = data.copy()
    out.index = closes.map(lambda t: t.isoformat())
    out.index.name = "Date"
    out.to_csv(path)
    return data


def at_close(day: str) -> int:
    return int(datetime.fromisoformat(f"{day}T16:00").replace(tzinfo=NEW_YORK).timestamp())


async def test_sp500_daily_bars_import_through_csv(tmp_path: Path) -> None:
    path = tmp_path / "sp500.csv"
    data = sp500_csv(path)
    assert path.read_text().splitlines()[1].startswith("1999-01-04T16:00:00-05:00,1229.22998")
    frame = load_candle_file(path, parse_interval("1d"))
    url = f"sqlite+aiosqlite:///{tmp_path / 'signaldesk.sqlite3'}"
    await upgrade_async(url)
    db = Database(url)
    try:
        store = CandleStore(db)
        assert await store.upsert(KEY, "day", frame) == len(data) == 5031
        assert await store.upsert(KEY, "1d", frame) == 0
        stored = await store.read(KEY, "1d")
    finally:
        await db.close()
    assert len(stored) == 5031 and stored["oi"].isna().all()
    first, last = stored.iloc[0], stored.iloc[-1]
    assert first["ts"] == at_close("1999-01-04") == 915483600  # 21:00 UTC (EST)
    assert (first["open"], first["high"], first["low"], first["close"]) == pytest.approx(
        (1229.22998, 1248.810059, 1219.099976, 1228.099976)
    )
    assert first["volume"] == 877_000_000
    assert last["ts"] == at_close("2018-12-31") and last["close"] == pytest.approx(2506.850098)
    summer = stored.set_index("ts").loc[at_close("2018-07-02")]  # 20:00 UTC (EDT)
    assert summer["close"] == pytest.approx(data.loc["2018-07-02", "Close"])
    assert stored["close"].to_numpy() == pytest.approx(data["Close"].to_numpy())
