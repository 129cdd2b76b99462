"""Upstox's instrument file read into rows: units converted, gzip or plain, and what is refused
(naming row and field) or skipped (other segments) by the policy of master_file."""

from __future__ import annotations

import gzip

import pytest

from app.market.instrument_master.errors import MasterFileError
from app.market.instrument_master.master_file import read_master
from tests.market.instrument_master.sample import EXPIRY_MS, encode, sample_rows


def refused(data: bytes) -> MasterFileError:
    with pytest.raises(MasterFileError) as info:
        read_master(data, "NSE.json.gz")
    return info.value


def test_the_sample_loads_with_rupee_ticks_and_second_expiries() -> None:
    for gz in (True, False):
        result = read_master(encode(sample_rows(), gz=gz), "NSE.json.gz")
        assert len(result.rows) == len(sample_rows()) and not result.skipped
        assert result.loaded == {"NSE_EQ": 251, "NSE_FO": 24, "NSE_INDEX": 3, "BSE_EQ": 2, "MCX_FO": 1}
    by_key = {row["instrument_key"]: row for row in result.rows}
    reliance = by_key["NSE_EQ|INE002A01018"]
    assert reliance["tick_size"] == 0.10 and reliance["lot_size"] == 1 and reliance["symbol_upper"] == "RELIANCE"
    assert by_key["NSE_EQ|INE614G01033"]["tick_size"] == 0.01  # RPOWER: 1 paisa
    future = by_key["NSE_FO|52301"]
    assert future["lot_size"] == 50 and future["tick_size"] == 5.0 and future["expiry"] == EXPIRY_MS // 1000
    assert future["underlying_key"] == "NSE_EQ|INE481G01011" and future["instrument_type"] == "FUT"
    nifty = by_key["NSE_INDEX|Nifty 50"]
    assert nifty["tick_size"] is None and nifty["lot_size"] is None and nifty["trading_symbol"] == "NIFTY"


def test_a_bad_row_of_an_nse_segment_refuses_the_file_naming_row_and_field() -> None:
    rows = sample_rows()
    rows[3]["tick_size"] = 0.0
    rows[7]["lot_size"] = 2.5
    del rows[260]["trading_symbol"]  # an NSE_FO row
    rows[12]["instrument_key"] = rows[11]["instrument_key"]
    rows[20]["instrument_key"] = "NSE_FO|123"  # an NSE_EQ row with a key of another segment
    error = refused(encode(rows))
    assert error.reason == "5 bad rows of NSE_EQ, NSE_FO, NSE_INDEX" and error.total == 5
    assert [str(f) for f in error.faults] == [
        "row 3, tick_size: 0.0: must be > 0",
        "row 7, lot_size: 2.5: must be a whole number",
        "row 12, instrument_key: 'NSE_EQ|INE001Q01011' appears twice",
        "row 20, instrument_key: 'NSE_FO|123' is not of the row's segment NSE_EQ",
        "row 260, trading_symbol: missing",
    ]


def test_a_bad_row_of_another_segment_is_skipped_and_counted() -> None:
    rows = sample_rows()
    bse = next(i for i, r in enumerate(rows) if r["segment"] == "BSE_EQ")
    rows[bse]["tick_size"] = "five"
    rows.append({"segment": "NCD_FO", "instrument_key": "NCD_FO|1", "trading_symbol": "USDINR FUT", "exchange": "NSE"})
    result = read_master(encode(rows), "complete.json.gz")
    assert len(result.rows) == len(rows) - 2
    assert result.skipped == {"BSE_EQ": 1, "NCD_FO": 1}
    assert [str(f) for f in result.skipped_faults] == [
        f"row {bse}, tick_size: 'five' is not a number",
        f"row {len(rows) - 1}, instrument_type: missing",
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x1f\x8b\x08\x00garbage", "not a readable gzip file"),
        (gzip.compress(b'[{"segment": "NSE_EQ"', mtime=0), "not JSON"),
        (b'{"status": "success"}', "a JSON dict instead of an array of instruments"),
        (b"[]", "no instruments in the file: the stored master is kept"),
        (b'[{"segment": "NSE_EQ"}, 5]', "row 1 is not a JSON object"),
        (b'[{"instrument_key": "NSE_EQ|X"}]', "row 0, segment: None is not a segment such as NSE_EQ"),
    ],
)
def test_a_file_that_is_not_an_instrument_file_is_refused_whole(data: bytes, reason: str) -> None:
    assert reason in refused(data).reason
