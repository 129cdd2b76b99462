"""The stored master on a real migrated database (SQLite and PostgreSQL): a sync replaces it
whole or not at all, search ranks symbols before names, symbols resolve to keys, and tick and
lot sizes come from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.market.errors import InvalidInstrumentKey
from app.market.instrument_master.errors import MasterFileError, RepeatedInstrument, UnknownInstrument
from app.market.instrument_master.resolve import resolve_instrument, resolve_instruments
from app.market.instrument_master.specs import DEFAULT_SPEC, TradingSpec, TradingSpecs
from app.market.instrument_master.store import InstrumentMaster
from app.market.instrument_master.sync import sync_master
from app.storage.db import Database
from tests.market.instrument_master.sample import sample_rows, write_sample

RELIANCE = "NSE_EQ|INE002A01018"


@pytest.fixture
async def master(database: Database, tmp_path: Path) -> InstrumentMaster:
    store = InstrumentMaster(database)
    await sync_master(store, file=write_sample(tmp_path / "NSE.json.gz"))
    return store


async def test_a_refused_file_leaves_the_stored_master_intact(master: InstrumentMaster, tmp_path: Path) -> None:
    before = await master.count()
    rows = sample_rows()[:50]
    rows[42]["lot_size"] = -1
    with pytest.raises(MasterFileError) as info:
        await sync_master(master, file=write_sample(tmp_path / "bad.json.gz", rows))
    assert [str(f) for f in info.value.faults] == ["row 42, lot_size: -1: must be > 0"]
    (tmp_path / "cut.json.gz").write_bytes((tmp_path / "NSE.json.gz").read_bytes()[:500])
    with pytest.raises(MasterFileError, match="not a readable gzip file"):
        await sync_master(master, file=tmp_path / "cut.json.gz")
    with pytest.raises(MasterFileError, match="cannot read it"):
        await sync_master(master, file=tmp_path / "missing.json.gz")
    assert await master.count() == before == len(sample_rows())
    assert (await master.by_keys([RELIANCE]))[RELIANCE].trading_symbol == "RELIANCE"


async def test_a_sync_replaces_the_whole_master(master: InstrumentMaster, tmp_path: Path) -> None:
    rows = [r for r in sample_rows() if r["segment"] == "NSE_INDEX"]
    await sync_master(master, file=write_sample(tmp_path / "indices.json", rows, gz=False))
    assert await master.count() == 3
    assert await master.by_keys([RELIANCE]) == {}


async def test_search_ranks_the_exact_symbol_then_prefixes_then_names(master: InstrumentMaster) -> None:
    found = [(i.segment, i.trading_symbol) for i in await master.search("reliance", 20)]
    assert found[:2] == [("NSE_EQ", "RELIANCE"), ("BSE_EQ", "RELIANCE")]  # exact, cash market first
    assert found[2] == ("NSE_FO", "RELIANCE FUT 30 DEC 25")  # a symbol prefix
    assert set(found[3:]) == {("NSE_EQ", "RELINFRA"), ("NSE_EQ", "RPOWER")}  # names containing it
    assert [i.trading_symbol for i in await master.search("RELI", 3)] == ["RELIANCE", "RELINFRA", "RELIANCE"]
    assert [i.trading_symbol for i in await master.search("m&m", 5)] == ["M&M"]
    nifty = [i.trading_symbol for i in await master.search("nifty", 100)]
    prefixed = [s.startswith("NIFTY") for s in nifty]
    assert nifty[0] == "NIFTY" and prefixed == sorted(prefixed, reverse=True) and prefixed.count(True) == 22
    assert set(nifty[22:]) == {"BANKNIFTY", "FINNIFTY", "BANKNIFTY FUT 30 DEC 25"}  # by name: "Nifty Bank", ...
    assert [i.trading_symbol for i in await master.search("sdsample", 50)][:3] == [
        "SDSAMPLE001",
        "SDSAMPLE002",
        "SDSAMPLE003",
    ]
    assert len(await master.search("sdsample", 50)) == 50
    assert await master.search("100%", 5) == [] and await master.search("SD_SAMPLE", 5) == []  # LIKE wildcards are text


async def test_symbols_resolve_to_keys_and_keys_pass_as_they_are(master: InstrumentMaster) -> None:
    assert await resolve_instrument("RELIANCE", master) == RELIANCE  # NSE_EQ over BSE_EQ
    assert await resolve_instrument("reliance", master) == RELIANCE
    assert await resolve_instrument("BSE_EQ:RELIANCE", master) == "BSE_EQ|INE002A01018"
    assert await resolve_instrument("NSE_INDEX:NIFTY", master) == "NSE_INDEX|Nifty 50"
    assert await resolve_instrument("NIFTY", master) == "NSE_INDEX|Nifty 50"  # the only instrument with it
    assert await resolve_instrument("SDBSEONLY", master) == "BSE_EQ|INE0BSE01014"
    assert await resolve_instrument("NSE_EQ|SIM00001", master) == "NSE_EQ|SIM00001"  # a key: not looked up
    assert await resolve_instruments(["TCS", "M&M"], master) == ["NSE_EQ|INE467B01029", "NSE_EQ|INE101A01026"]
    with pytest.raises(UnknownInstrument) as info:
        await resolve_instrument("RELIANXE", master)
    assert str(info.value) == (
        "unknown instrument 'RELIANXE': not a key and no symbol in the instrument master "
        "(run `signaldesk instruments sync`)"
    )
    with pytest.raises(UnknownInstrument, match="'NSE_FO:RELIANCE': not a key and no symbol"):
        await resolve_instrument("NSE_FO:RELIANCE", master)
    with pytest.raises(RepeatedInstrument, match=r"'RELIANCE' and 'NSE_EQ\|INE002A01018' are the same instrument"):
        await resolve_instruments(["RELIANCE", RELIANCE], master)
    with pytest.raises(InvalidInstrumentKey, match="'RELIANCE!'"):
        await resolve_instrument("RELIANCE!", master)


async def test_a_symbol_of_several_instruments_is_refused_naming_them(master: InstrumentMaster, tmp_path: Path) -> None:
    rows = sample_rows()
    rows.append({**rows[-2], "instrument_key": "BSE_EQ|INE0BSE02012", "isin": "INE0BSE02012"})  # SDBSEONLY twice
    await sync_master(master, file=write_sample(tmp_path / "twice.json.gz", rows))
    with pytest.raises(UnknownInstrument) as info:
        await resolve_instrument("SDBSEONLY", master)
    assert "2 instruments have this symbol: BSE_EQ:SDBSEONLY (BSE_EQ|INE0BSE01014), BSE_EQ:SDBSEONLY" in str(info.value)


async def test_symbols_are_refused_with_the_hint_to_sync_when_no_master_is_loaded(database: Database) -> None:
    empty = InstrumentMaster(database)
    with pytest.raises(UnknownInstrument) as info:
        await resolve_instrument("RELIANCE", empty)
    assert "no instrument master is loaded" in str(info.value) and "signaldesk instruments sync" in str(info.value)
    assert await resolve_instrument(RELIANCE, empty) == RELIANCE


async def test_tick_and_lot_sizes_come_from_the_master(master: InstrumentMaster) -> None:
    specs = TradingSpecs(load=master.trading_specs)
    assert specs[RELIANCE] == DEFAULT_SPEC  # until refreshed
    await specs.refresh([RELIANCE, "NSE_FO|52301", "NSE_INDEX|Nifty 50", "NSE_EQ|SIM00001"])
    assert len(specs) == 2
    assert specs[RELIANCE] == TradingSpec(0.10, 1)
    assert specs["NSE_FO|52301"] == TradingSpec(5.0, 50)
    assert specs["NSE_INDEX|Nifty 50"] == specs["NSE_EQ|SIM00001"] == DEFAULT_SPEC == TradingSpec(0.05, 1)
    assert specs[RELIANCE].round(2901.37) == 2901.4 and specs[RELIANCE].round(2901.34) == 2901.3
    assert TradingSpec(0.05, 50).whole_lots(149) == 100 and TradingSpec(0.05, 50).whole_lots(-149) == -100
    assert TradingSpec(0.05, 50).whole_lots(49) == 0
