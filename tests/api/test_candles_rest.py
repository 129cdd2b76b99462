"""Candles over REST against a real server: import all-or-nothing, ranges, 422 per field, auth."""

from __future__ import annotations

import asyncio
import io

import httpx
import numpy as np
import orjson
import pandas as pd

from app.api.routes.candles import PAGE_CHUNK, _page
from app.market.candles import CandleSeries, CandleStore
from tests.market.candle_files import OPEN_TS, bars, csv_bytes, upstox_json
from tests.support.server import ServerProcess
from tests.support.storage import default_sqlite_unused, read_database

KEY = "NSE_EQ|INE002A01018"
TOKEN = "candles-test-token-0123456789"


def post(server: ServerProcess, body: bytes, headers: dict[str, str] | None = None, **params: str) -> httpx.Response:
    params = {"instrument_key": KEY, "interval": "1minute", **params}
    return httpx.post(f"{server.http}/api/candles/import", params=params, content=body, headers=headers, timeout=30)


def get(server: ServerProcess, **params: str) -> httpx.Response:
    return httpx.get(f"{server.http}/api/candles", params={"instrument_key": KEY, "interval": "1m", **params})


def test_import_is_idempotent_and_ranges_read_back(database_env: dict[str, str], server_factory) -> None:  # type: ignore[no-untyped-def]
    """On each relational store (SQLite, PostgreSQL: tests/conftest.py)."""
    server: ServerProcess = server_factory(env=database_env)
    server.start()
    r = post(server, csv_bytes(bars(5)), {"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "instrument_key": KEY,
        "interval": "1m",
        "rows": 5,
        "written": 5,
        "unchanged": 0,
        "first_ts": OPEN_TS,
        "last_ts": OPEN_TS + 240,
    }
    again = post(server, upstox_json(bars(5)))  # the same candles as Upstox sends them, format from the content
    assert again.json()["written"] == 0 and again.json()["unchanged"] == 5
    page = get(server, start="2026-11-24T09:16:00+05:30", end=str(OPEN_TS + 180)).json()
    assert page["instrument_key"] == KEY and page["interval"] == "1m"
    assert page["candles"] == [
        {
            "ts": OPEN_TS + 60,
            "open": 2871.0,
            "high": 2873.5,
            "low": 2869.5,
            "close": 2871.5,
            "volume": 1001.0,
            "oi": 0.0,
        },
        {
            "ts": OPEN_TS + 120,
            "open": 2872.0,
            "high": 2874.5,
            "low": 2870.5,
            "close": 2872.5,
            "volume": 1002.0,
            "oi": 0.0,
        },
        {
            "ts": OPEN_TS + 180,
            "open": 2873.0,
            "high": 2875.5,
            "low": 2871.5,
            "close": 2873.5,
            "volume": 1003.0,
            "oi": 0.0,
        },
    ]
    assert len(get(server).json()["candles"]) == 5
    assert get(server, start=str(OPEN_TS + 3600)).json()["candles"] == []
    series = httpx.get(f"{server.http}/api/candles/instruments").json()
    assert series == [
        {"instrument_key": KEY, "interval": "1m", "first_ts": OPEN_TS, "last_ts": OPEN_TS + 240, "count": 5}
    ]
    stored = asyncio.run(
        read_database(database_env["SIGNALDESK_DATABASE_URL"], lambda db: CandleStore(db).instruments())
    )
    assert stored == [CandleSeries(KEY, "1m", OPEN_TS, OPEN_TS + 240, 5)] and default_sqlite_unused(server.data_dir)


def test_parquet_upload_with_format_and_missing_oi_is_null(server: ServerProcess) -> None:
    frame = pd.DataFrame(
        {
            "ts": [OPEN_TS, OPEN_TS + 300],
            "open": [10.0, 11.0],
            "high": [12.0, 12.0],
            "low": [9.0, 10.0],
            "close": [11.0, 11.5],
            "volume": [5, 0],
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    r = post(server, buffer.getvalue(), interval="5m", format="parquet")
    assert r.status_code == 200 and r.json()["written"] == 2
    candles = get(server, interval="5minute").json()["candles"]
    assert [c["oi"] for c in candles] == [None, None] and candles[1]["close"] == 11.5


def test_a_bad_file_is_422_with_its_rows_and_nothing_is_stored(server: ServerProcess) -> None:
    rows = bars(6)
    rows[2][2] = 1.0
    rows[4][0] = rows[3][0]
    r = post(server, csv_bytes(rows))
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {"loc": ["body"], "msg": "2 bad values; nothing imported"},
        {"loc": ["body", 4, "high"], "msg": "1.0 is below max(open, close) 2872.5"},
        {"loc": ["body", 6, "ts"], "msg": "duplicate timestamp 2026-11-24T03:48:00Z (also line 5)"},
    ]
    r = post(
        server, b'{"status": "error", "errors": [{"message": "Invalid token"}]}', {"content-type": "application/json"}
    )
    assert r.status_code == 422 and "Invalid token" in r.json()["detail"][0]["msg"]
    r = post(server, b"ts,open\n1,2\n")
    assert r.status_code == 422 and "no column for high" in r.json()["detail"][0]["msg"]
    missing = get(server)
    assert missing.status_code == 404 and "no 1m candles stored for NSE_EQ|INE002A01018" in missing.json()["detail"]
    assert httpx.get(f"{server.http}/api/candles/instruments").json() == []


def test_bad_queries_name_each_field(server: ServerProcess) -> None:
    r = httpx.get(
        f"{server.http}/api/candles",
        params={"instrument_key": "RELIANCE", "interval": "2m", "start": "2026-11-24", "end": "soon"},
    )
    assert r.status_code == 422
    assert [d["loc"] for d in r.json()["detail"]] == [
        ["query", "instrument_key"],
        ["query", "interval"],
        ["query", "start"],
        ["query", "end"],
    ]
    assert "EXCHANGE_SEGMENT|IDENTIFIER" in r.json()["detail"][0]["msg"]
    r = get(server, start=str(OPEN_TS + 60), end=str(OPEN_TS))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "end"]
    assert httpx.get(f"{server.http}/api/candles", params={"interval": "1m"}).json()["detail"][0]["loc"] == [
        "query",
        "instrument_key",
    ]
    r = post(server, csv_bytes(bars(1)), instrument_key="nse_eq|x", interval="fortnight")
    assert r.status_code == 422 and [d["loc"] for d in r.json()["detail"]] == [
        ["query", "instrument_key"],
        ["query", "interval"],
    ]
    assert post(server, csv_bytes(bars(1)), format="xlsx").status_code == 422
    form = httpx.post(
        f"{server.http}/api/candles/import",
        params={"instrument_key": KEY, "interval": "1m"},
        files={"file": ("a.csv", csv_bytes(bars(1)))},
    )
    assert form.status_code == 415


def test_candles_need_the_token_when_one_is_set(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = server_factory(env={"SIGNALDESK_API_TOKEN": TOKEN})
    server.start()
    assert get(server).status_code == 401
    assert post(server, csv_bytes(bars(2))).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert post(server, csv_bytes(bars(2)), auth).json()["written"] == 2
    r = httpx.get(f"{server.http}/api/candles", params={"instrument_key": KEY, "interval": "1m"}, headers=auth)
    assert r.status_code == 200 and len(r.json()["candles"]) == 2
    paths = httpx.get(f"{server.http}/openapi.json", headers=auth).json()["paths"]
    assert {"/api/candles", "/api/candles/import", "/api/candles/instruments"} <= set(paths)


def test_a_bare_date_daily_file_imports_with_tz_only(server: ServerProcess) -> None:
    daily = b"date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,1000\n"
    refused = post(server, daily, interval="1d")
    assert refused.status_code == 422
    assert refused.json()["detail"][1] == {
        "loc": ["body", 2, "ts"],
        "msg": "'2024-01-02' has no UTC offset (add one, e.g. +05:30 or Z)",
    }
    unknown = post(server, daily, interval="1d", tz="Mars/Base")
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["query", "tz"]
    r = post(server, daily, interval="1d", tz="Asia/Kolkata")
    assert r.status_code == 200, r.text
    assert r.json()["first_ts"] == 1704167100  # 2024-01-02 09:15 IST, the session open


def test_a_page_longer_than_one_encoding_chunk_is_the_whole_series_in_order() -> None:
    """The page is encoded PAGE_CHUNK candles at a time (off the event loop's GIL for ~0.1 s at
    five years of 1-minute bars); the pieces make one document equal to encoding it whole."""
    n = 2 * PAGE_CHUNK + 7
    frame = pd.DataFrame(
        {
            "ts": 1_767_240_900 + 60 * np.arange(n),
            **{c: 1000.0 + np.arange(n) * 0.05 for c in ("open", "high", "low", "close")},
        }
    ).assign(volume=10.0, oi=np.where(np.arange(n) % 3, 5.0, np.nan))
    page = orjson.loads(_page(KEY, "1m", frame))
    whole = [
        {**row, "oi": None if row["oi"] != row["oi"] else row["oi"]}
        for row in frame[["ts", "open", "high", "low", "close", "volume", "oi"]].to_dict("records")
    ]
    assert page == {"instrument_key": KEY, "interval": "1m", "candles": whole}
    assert orjson.loads(_page(KEY, "1m", frame.iloc[:0])) == {"instrument_key": KEY, "interval": "1m", "candles": []}
