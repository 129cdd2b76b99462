"""`signaldesk instruments sync|search` as a person runs them, and symbols in a CLI option."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.market.candle_files import bars, upstox_json
from tests.market.instrument_master.sample import encode, sample_rows, write_sample
from tests.market.upstox.fake import INSTRUMENTS, FakeUpstox
from tests.support.cli import signaldesk

RELIANCE = "NSE_EQ|INE002A01018"


def test_sync_a_file_then_search_and_import_candles_by_symbol(tmp_path: Path) -> None:
    data = tmp_path / "data"
    file = write_sample(tmp_path / "NSE.json.gz")
    synced = signaldesk("instruments", "sync", "--file", file, "--data-dir", data)
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.strip() == (
        f"synced 281 instruments from {file} (BSE_EQ 2, MCX_FO 1, NSE_EQ 251, NSE_FO 24, NSE_INDEX 3)"
    )
    found = signaldesk("instruments", "search", "reli", "--limit", "2", "--data-dir", data)
    assert found.stdout.splitlines() == [
        f"{RELIANCE}  RELIANCE  RELIANCE INDUSTRIES LTD  tick 0.1  lot 1",
        "NSE_EQ|INE036A01016  RELINFRA  RELIANCE INFRASTRUCTU LTD  tick 0.05  lot 1",
    ]
    candles = tmp_path / "reliance.json"
    candles.write_bytes(upstox_json(bars(3)))
    imported = signaldesk(
        "candles", "import", candles, "--instrument", "reliance", "--interval", "1m", "--data-dir", data
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(f"{RELIANCE} 1m: 3 candles")
    unknown = signaldesk(
        "candles", "import", candles, "--instrument", "RELIANXE", "--interval", "1m", "--data-dir", data
    )
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert unknown.stderr.strip() == (
        "error: --instrument: unknown instrument 'RELIANXE': not a key and no symbol in the instrument master "
        "(run `signaldesk instruments sync`)"
    )


def test_a_bad_file_exits_2_naming_its_rows_and_keeps_the_stored_master(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert (
        signaldesk(
            "instruments", "sync", "--file", write_sample(tmp_path / "NSE.json.gz"), "--data-dir", data
        ).returncode
        == 0
    )
    rows = sample_rows()
    for row in rows[100:130]:
        row["tick_size"] = -5.0
    bad = write_sample(tmp_path / "bad.json", rows, gz=False)
    result = signaldesk("instruments", "sync", "--file", bad, "--data-dir", data)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert (
        lines[0] == f"error: {bad}: 30 bad rows of NSE_EQ, NSE_FO, NSE_INDEX; the stored instrument master is unchanged"
    )
    assert lines[1] == "  row 100, tick_size: -5.0: must be > 0"
    assert len(lines) == 22 and lines[-1] == "  ... and 10 more"
    still = signaldesk("instruments", "search", "RELIANCE", "--limit", "1", "--data-dir", data)
    assert still.stdout.startswith(RELIANCE)


def test_symbols_without_a_master_are_refused_with_the_hint_to_sync(tmp_path: Path) -> None:
    result = signaldesk("backtest", "--instruments", "RELIANCE", "--interval", "1m", "--data-dir", tmp_path / "data")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        "--instruments: unknown instrument 'RELIANCE': not a key, and no instrument master is loaded" in result.stderr
    )
    assert "run `signaldesk instruments sync`" in result.stderr


async def test_sync_downloads_the_file_from_the_configured_url(fake: FakeUpstox, tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"SIGNALDESK_UPSTOX_INSTRUMENTS_URL": fake.url + INSTRUMENTS}
    missing = await asyncio.to_thread(signaldesk, "instruments", "sync", "--data-dir", data, env=env)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.strip() == (
        f"error: cannot download the instrument file {fake.url + INSTRUMENTS} (SIGNALDESK_UPSTOX_INSTRUMENTS_URL): "
        "HTTP 404; the stored instrument master is unchanged"
    )
    fake.instruments = encode(sample_rows())
    synced = await asyncio.to_thread(signaldesk, "instruments", "sync", "--data-dir", data, env=env)
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.startswith(f"synced 281 instruments from {fake.url + INSTRUMENTS}")
    assert fake.instrument_downloads == 2
    refused = await asyncio.to_thread(
        signaldesk, "instruments", "sync", env={"SIGNALDESK_UPSTOX_INSTRUMENTS_URL": "http://example.com/NSE.json.gz"}
    )
    assert (
        refused.returncode == 2
        and "SIGNALDESK_UPSTOX_INSTRUMENTS_URL: plain http:// only for a loopback" in refused.stderr
    )
