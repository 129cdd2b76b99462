"""The instrument master over REST against a real server: search (ranked, 422 per field) and
trading symbols in REST bodies and in SIGNALDESK_MARKET_INSTRUMENTS."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.market.candle_files import bars, upstox_json
from tests.market.instrument_master.sample import write_sample
from tests.support.cli import signaldesk
from tests.support.server import ServerProcess

# The app as an ASGI server other than `signaldesk serve` runs it (and as `serve --workers` processes
# do): its lifespan resolves the symbols of SIGNALDESK_MARKET_INSTRUMENTS itself.
PLAIN_UVICORN = """
import sys, uvicorn
from app.core.config import Settings
from app.main import create_app
port, data_dir = int(sys.argv[2]), sys.argv[4]
uvicorn.run(create_app(Settings(data_dir=data_dir)), port=port)
"""
RELIANCE, TCS, INFY = "NSE_EQ|INE002A01018", "NSE_EQ|INE467B01029", "NSE_EQ|INE009A01021"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data directory whose database holds the sample instrument master."""
    data = tmp_path / "data"
    synced = signaldesk("instruments", "sync", "--file", write_sample(tmp_path / "NSE.json.gz"), "--data-dir", data)
    assert synced.returncode == 0, synced.stderr
    return data


def test_search_ranks_symbols_then_names_and_names_bad_fields(data: Path, server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(data, {"SIGNALDESK_MARKET_SOURCE": "off"})
    server.start()
    r = httpx.get(f"{server.http}/api/instruments", params={"q": "Reliance", "limit": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["master_size"] == 281
    assert [(i["instrument_key"], i["trading_symbol"]) for i in body["instruments"]] == [
        (RELIANCE, "RELIANCE"),
        ("BSE_EQ|INE002A01018", "RELIANCE"),
        ("NSE_FO|52217", "RELIANCE FUT 30 DEC 25"),
        ("NSE_EQ|INE614G01033", "RPOWER"),  # by name (RELIANCE POWER LTD.), shorter symbols first
    ]
    assert body["instruments"][0] == {
        "instrument_key": RELIANCE,
        "trading_symbol": "RELIANCE",
        "name": "RELIANCE INDUSTRIES LTD",
        "exchange": "NSE",
        "segment": "NSE_EQ",
        "instrument_type": "EQ",
        "isin": "INE002A01018",
        "exchange_token": "2885",
        "tick_size": 0.1,
        "lot_size": 1,
        "freeze_quantity": 100000.0,
        "short_name": "Reliance Industries",
        "security_type": "NORMAL",
        "expiry": None,
        "strike_price": None,
        "underlying_key": None,
    }
    future = httpx.get(f"{server.http}/api/instruments", params={"q": "ULTRACEMCO FUT"}).json()["instruments"]
    assert [(i["lot_size"], i["tick_size"], i["expiry"]) for i in future] == [(50, 5.0, 1_767_088_799)]
    for params, field in [
        ({}, "q"),
        ({"q": "  "}, "q"),
        ({"q": "x", "limit": "0"}, "limit"),
        ({"q": "x", "limit": "a"}, "limit"),
    ]:
        bad = httpx.get(f"{server.http}/api/instruments", params=params)
        assert bad.status_code == 422, (params, bad.text)
        assert [p["loc"] for p in bad.json()["detail"]] == [["query", field]], (params, bad.text)


def test_rest_bodies_take_trading_symbols(data: Path, server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(data)
    server.start()
    r = server.start_predictor({"instruments": ["reliance", "NSE_EQ:TCS"]})
    assert r.status_code == 200, r.text
    assert r.json()["instruments"] == [RELIANCE, TCS]
    assert httpx.post(f"{server.http}/api/predictor/stop").status_code == 200
    r = server.start_predictor({"instruments": [RELIANCE, "RELIANXE"]})
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {
            "loc": ["body", "instruments", 1],
            "msg": "unknown instrument 'RELIANXE': not a key and no symbol in the instrument master "
            "(run `signaldesk instruments sync`)",
            "input": "RELIANXE",
        }
    ]
    job = {"kind": "ridge", "params": {"instrument_key": "INFY", "horizons": [1]}}
    r = httpx.post(f"{server.http}/api/training/jobs", json=job)
    assert r.status_code == 202, r.text
    assert r.json()["params"]["instrument_key"] == INFY
    job = {"kind": "ridge", "params": {"instrument_key": "INFX", "folds": 1}}
    r = httpx.post(f"{server.http}/api/training/jobs", json=job)
    assert r.status_code == 422
    problems = {tuple(p["loc"]): p["msg"] for p in r.json()["detail"]}  # every wrong field in one answer
    assert set(problems) == {("body", "params", "instrument_key"), ("body", "params", "folds")}
    assert problems[("body", "params", "instrument_key")].startswith("unknown instrument 'INFX': not a key and no")
    run = {"kind": "backfill", "params": {"instruments": ["TCS", "NSE_EQ:RELIANXE"]}}
    r = httpx.post(f"{server.http}/api/automation/runs", json=run)
    assert r.status_code == 422 and [p["loc"] for p in r.json()["detail"]] == [["body", "params", "instruments", 1]]
    assert httpx.get(f"{server.http}/api/training/jobs").json()["jobs"][0]["params"]["instrument_key"] == INFY


def test_market_instruments_may_be_symbols(data: Path, tmp_path: Path, server_factory) -> None:  # type: ignore[no-untyped-def]
    candles = tmp_path / "reliance.json"
    candles.write_bytes(upstox_json(bars(3)))
    imported = signaldesk(
        "candles", "import", candles, "--instrument", RELIANCE, "--interval", "1m", "--data-dir", data
    )
    assert imported.returncode == 0, imported.stderr
    replay = {"SIGNALDESK_MARKET_SOURCE": "replay", "SIGNALDESK_MARKET_SPEED": "inf"}
    server: ServerProcess = server_factory(data, {**replay, "SIGNALDESK_MARKET_INSTRUMENTS": "RELIANCE"})
    server.start()
    assert httpx.get(f"{server.http}/api/market", params={"limit": 0}).json()["instruments"] == [RELIANCE]
    server.stop()
    plain = ServerProcess(data, {**replay, "SIGNALDESK_MARKET_INSTRUMENTS": "tcs,RELIANCE"}, argv=["-c", PLAIN_UVICORN])
    plain.start()
    try:
        assert httpx.get(f"{plain.http}/api/market", params={"limit": 0}).json()["instruments"] == [TCS, RELIANCE]
    finally:
        plain.stop()
    refused = signaldesk(
        "serve", "--data-dir", data, "--port", "0", env={**replay, "SIGNALDESK_MARKET_INSTRUMENTS": "RELIANXE"}
    )
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: SIGNALDESK_MARKET_INSTRUMENTS: unknown instrument 'RELIANXE': not a key and no symbol in the "
        "instrument master (run `signaldesk instruments sync`)"
    )
    twice = signaldesk(
        "serve",
        "--data-dir",
        data,
        "--port",
        "0",
        env={**replay, "SIGNALDESK_MARKET_INSTRUMENTS": f"RELIANCE,{RELIANCE}"},
    )
    assert twice.returncode == 2 and "are the same instrument (NSE_EQ|INE002A01018)" in twice.stderr
