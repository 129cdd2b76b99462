"""Candle files to frames: formats, timestamps, and every row rule reported by line."""

from __future__ import annotations

import io

import numpy as np
import orjson
import pandas as pd
import pytest

from app.market.errors import CandleImportError
from app.market.importers import CandleFormat, detect_format, load_candle_file, load_candles
from app.market.intervals import parse_interval
from tests.market.candle_files import HEADER, OPEN_TS, bars, csv_bytes, upstox_json

M1, M5, D1 = parse_interval("1m"), parse_interval("5minute"), parse_interval("day")


def problems(data: bytes, interval=M1, **kw: object) -> list[tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    with pytest.raises(CandleImportError) as caught:
        load_candles(data, interval, **kw)  # type: ignore[arg-type]
    return [(p.line, p.column, p.message) for p in caught.value.problems]


def test_upstox_response_newest_first_becomes_ascending_utc_bar_opens() -> None:
    frame = load_candles(upstox_json(bars(3)), M1)
    assert frame["ts"].tolist() == [OPEN_TS, OPEN_TS + 60, OPEN_TS + 120]
    assert OPEN_TS == 1795491900  # 2026-11-24T09:15:00+05:30 = 03:45 UTC
    assert frame.iloc[0].to_dict() == {
        "ts": OPEN_TS,
        "open": 2870.0,
        "high": 2872.5,
        "low": 2868.5,
        "close": 2870.5,
        "volume": 1000.0,
        "oi": 0.0,
    }
    assert frame.dtypes.to_dict() == {
        "ts": np.int64,
        **{c: np.float64 for c in ("open", "high", "low", "close", "volume", "oi")},
    }


def test_the_issue_example_and_rows_without_oi() -> None:
    body = {
        "status": "success",
        "data": {
            "candles": [
                ["2026-11-24T15:29:00+05:30", 2871.0, 2872.5, 2870.1, 2871.35, 12500, 0],
                ["2026-11-24T15:28:00+05:30", 2870.0, 2871.5, 2869.1, 2871.0, 9000],
            ]
        },
    }
    frame = load_candles(orjson.dumps(body), M1)
    assert frame["ts"].tolist() == [1795514280, 1795514340]
    assert np.isnan(frame["oi"].iloc[0]) and frame["oi"].iloc[1] == 0.0


def test_upstox_problems_count_positions_in_data_candles() -> None:
    rows = bars(3)
    rows[0][2] = 1.0  # oldest: the last in the newest-first file
    found = problems(upstox_json(rows))
    assert found == [(3, "high", "1.0 is below max(open, close) 2870.5")]
    assert problems(orjson.dumps({"data": {"candles": [bars(1)[0], [1, 2]]}})) == [
        (2, "row", "expected [timestamp, open, high, low, close, volume, oi], got [1, 2]")
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b'{"status": "success", "data": {}}', 'no list at "data.candles"'),
        (b'{"status": "error", "errors": [{"errorCode": "UDAPI1015", "message": "Invalid date"}]}', "Invalid date"),
    ],
)
def test_json_that_is_not_a_candle_response(body: bytes, reason: str) -> None:
    with pytest.raises(CandleImportError) as caught:
        load_candles(body, M1, fmt=CandleFormat.JSON)
    assert reason in caught.value.reason and caught.value.problems == []


def test_csv_timestamps_iso_with_offsets_epoch_seconds_and_ms() -> None:
    text = (
        "Timestamp,OPEN,High,low,Close,Volume,Adj Close\n"
        "2026-11-24T09:15:00+05:30,10,11,9,10.5,100,x\n"
        "2026-11-24 03:46:00Z,10,11,9,10.5,100,x\n"
        "2026-11-23T22:47:00-05:00,10,11,9,10.5,100,x\n"
        "1795492080,10,11,9,10.5,100,x\n"
        "1795492140000,10,11,9,10.5,100,x\n"
    )
    frame = load_candles(text.encode(), M1)
    assert frame["ts"].tolist() == [OPEN_TS + 60 * i for i in range(5)]
    assert frame["oi"].isna().all()


def test_naive_timestamps_are_refused_by_line() -> None:
    data = csv_bytes([["2026-11-24T09:15:00", 10, 11, 9, 10, 1, 0], ["2026-11-25", 10, 11, 9, 10, 1, 0]])
    assert problems(data, D1) == [
        (2, "ts", "'2026-11-24T09:15:00' has no UTC offset (add one, e.g. +05:30 or Z)"),
        (3, "ts", "'2026-11-25' has no UTC offset (add one, e.g. +05:30 or Z)"),
    ]


def test_every_row_rule_names_its_line_and_column() -> None:
    rows = bars(12)
    rows[0][1] = 0  # open not positive
    rows[1][2] = rows[1][4] - 1  # high below close
    rows[2][3] = rows[2][1] + 1  # low above open
    rows[3][5] = -1  # volume negative
    rows[4][6] = -5  # oi negative
    rows[5][4] = ""  # close missing
    rows[6][1] = "abc"  # open not a number
    rows[8][0] = rows[7][0]  # duplicate of line 9
    rows[10][0] = "2026-11-24T09:15:30+05:30"  # out of order, not on a whole minute
    rows[11][0] = "nonsense"
    found = problems(csv_bytes(rows))
    assert found == [
        (2, "open", "0.0 is not positive"),
        (3, "high", "2870.5 is below max(open, close) 2871.5"),
        (4, "low", "2873.0 is above min(open, close) 2872.0"),
        (5, "volume", "-1.0 is negative"),
        (6, "oi", "-5.0 is negative"),
        (7, "close", "missing"),
        (8, "open", "'abc' is not a number"),
        (10, "ts", "duplicate timestamp 2026-11-24T03:52:00Z (also line 9)"),
        (12, "ts", "2026-11-24T03:45:30Z is out of order after 2026-11-24T03:54:00Z on line 11"),
        (12, "ts", "2026-11-24T03:45:30Z is not on a whole minute"),
        (13, "ts", "'nonsense' is neither ISO-8601 nor epoch seconds"),
    ]


def test_intraday_bars_sit_on_their_days_grid() -> None:
    rows = bars(4, step=300)
    rows[2][0] = "2026-11-24T09:26:00+05:30"  # 09:15, 09:20, 09:26, 09:30
    assert problems(csv_bytes(rows), M5) == [
        (4, "ts", "2026-11-24T03:56:00Z is off the 5m grid of its day (first bar 2026-11-24T03:45:00Z)")
    ]
    assert len(problems(csv_bytes(bars(3)), M5)) == 2  # minute bars are not 5m bars
    later_session = bars(2, step=300) + [["2026-11-25T18:00:00+05:30", 10, 11, 9, 10, 1, 0]]
    assert len(load_candles(csv_bytes(later_session), M5)) == 3  # a session opening at its own time


def test_daily_bars_one_per_local_date() -> None:
    ny = [["2024-01-02T16:00:00-05:00", 10, 11, 9, 10, 1, ""], ["2024-01-03T16:00:00-05:00", 10, 11, 9, 10, 1, ""]]
    assert len(load_candles(csv_bytes(ny), D1)) == 2
    upstox = [["2024-01-02T00:00:00+05:30", 10, 11, 9, 10, 1, 0], ["2024-01-02T15:30:00+05:30", 10, 11, 9, 10, 1, 0]]
    assert problems(csv_bytes(upstox), D1) == [(3, "ts", "second 1d bar on 2024-01-02 (also line 2)")]


def test_newest_first_csv_is_reversed_and_problems_keep_file_lines() -> None:
    rows = list(reversed(bars(4)))
    assert load_candles(csv_bytes(rows), M1)["ts"].tolist() == [OPEN_TS + 60 * i for i in range(4)]
    rows[1][3] = 99999  # low above
    assert [(line, column) for line, column, _ in problems(csv_bytes(rows))] == [(3, "low")]


def test_blank_lines_are_skipped_and_later_lines_keep_their_numbers() -> None:
    rows = bars(2)
    rows[1][1] = -1
    text = f"{HEADER}\n{','.join(map(str, rows[0]))}\n\n{','.join(map(str, rows[1]))}\n\n"
    assert problems(text.encode()) == [(4, "open", "-1.0 is not positive")]


def test_file_level_faults() -> None:
    cases = [
        (b"", "no column for time"),
        (b"ts,open,high,low,close\n", "no column for volume"),
        (b"date,time,open,high,low,close,volume\n", "columns date, time all mean ts"),
        (b"\xff\xfe,,\n", "not UTF-8"),
    ]
    for data, reason in cases:
        with pytest.raises(CandleImportError) as caught:
            load_candles(data, M1, fmt=CandleFormat.CSV)
        assert reason in caught.value.reason, data
    assert problems(csv_bytes(bars(1)) + b"2026-11-24T09:16:00+05:30,1,2,0.5,1,1,0,7\n") == [
        (3, "row", "8 fields where the header has 7")
    ]


def test_a_header_alone_is_no_candles() -> None:
    assert load_candles(f"{HEADER}\n".encode(), M1).empty
    assert load_candles(orjson.dumps({"status": "success", "data": {"candles": []}}), M1).empty


def test_many_problems_are_counted_and_the_first_kept() -> None:
    rows = bars(1500)
    for row in rows:
        row[5] = -1
    with pytest.raises(CandleImportError) as caught:
        load_candles(csv_bytes(rows), M1)
    error = caught.value
    assert error.total == 1500 and len(error.problems) == CandleImportError.MAX_PROBLEMS
    assert [p.line for p in error.problems[:3]] == [2, 3, 4]
    assert error.reason == "1500 bad values; nothing imported"


def _parquet(frame: pd.DataFrame, **kw: object) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, **kw)  # type: ignore[arg-type]
    return buffer.getvalue()


def test_parquet_with_aware_times_epoch_seconds_or_a_time_index() -> None:
    ts = OPEN_TS + 60 * np.arange(3)
    values = {"open": [10.0] * 3, "high": [11.0] * 3, "low": [9.0] * 3, "close": [10.5] * 3, "volume": [5, 6, 7]}
    aware = pd.DataFrame({"Datetime": pd.to_datetime(ts, unit="s", utc=True).tz_convert("Asia/Kolkata"), **values})
    epoch = pd.DataFrame({"ts": ts, **values, "oi": [1.0, None, 3.0]})
    indexed = aware.set_index("Datetime")
    for frame, index in ((aware, False), (epoch, False), (indexed, True)):
        data = _parquet(frame, index=index)
        loaded = load_candles(data, M1)
        assert loaded["ts"].tolist() == ts.tolist()
        assert loaded["volume"].tolist() == [5.0, 6.0, 7.0]
    assert load_candles(_parquet(epoch, index=False), M1)["oi"].isna().tolist() == [False, True, False]


def test_parquet_faults() -> None:
    naive = pd.DataFrame(
        {
            "ts": pd.to_datetime(["2026-11-24 09:15"]),
            "open": [1.0],
            "high": [1.0],
            "low": [1.0],
            "close": [1.0],
            "volume": [1.0],
        }
    )
    assert problems(_parquet(naive), M1) == [
        (1, "ts", "2026-11-24T09:15:00.000000 has no time zone (naive timestamp column)")
    ]
    with pytest.raises(CandleImportError, match="not a readable Parquet file"):
        load_candles(b"PAR1 but not really", M1)


def test_format_from_extension_then_content(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert detect_format("x.CSV", b"{") is CandleFormat.CSV
    assert detect_format("x.pq", b"") is CandleFormat.PARQUET
    assert detect_format("candles.json", b"") is CandleFormat.JSON
    assert detect_format(None, b"PAR1...") is CandleFormat.PARQUET
    assert detect_format("download", b'  {"status"') is CandleFormat.JSON
    assert detect_format(None, b"ts,open") is CandleFormat.CSV
    path = tmp_path / "upstox-response"
    path.write_bytes(upstox_json(bars(2)))
    assert len(load_candle_file(path, M1)) == 2
    with pytest.raises(CandleImportError, match="cannot read"):
        load_candle_file(tmp_path / "missing.csv", M1)


DAILY = b"date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,1000\n2024-01-03,10.5,12,10,11,900\n"


def test_bare_dates_and_offset_less_times_need_the_zone_named() -> None:
    assert problems(DAILY, D1) == [
        (2, "ts", "'2024-01-02' has no UTC offset (add one, e.g. +05:30 or Z)"),
        (3, "ts", "'2024-01-03' has no UTC offset (add one, e.g. +05:30 or Z)"),
    ]
    daily = load_candles(DAILY, D1, zone="Asia/Kolkata")
    assert daily["ts"].tolist() == [1704167100, 1704253500]  # 2024-01-02/03 09:15 IST, the session open
    minutes = csv_bytes([["2026-11-24 09:15:00", 1, 2, 1, 2, 5, 0], ["2026-11-24T09:16", 1, 2, 1, 2, 5, 0]])
    assert load_candles(minutes, M1, zone="Asia/Kolkata")["ts"].tolist() == [OPEN_TS, OPEN_TS + 60]
    assert load_candles(minutes, M1, zone="UTC")["ts"].tolist() == [OPEN_TS + 19800, OPEN_TS + 19860]


def test_a_named_zone_still_refuses_dates_in_intraday_files_and_times_a_clock_change_skips() -> None:
    assert problems(DAILY, M1, zone="Asia/Kolkata")[0] == (
        2,
        "ts",
        "'2024-01-02' is a date without a time (an intraday bar needs its time)",
    )
    spring = csv_bytes([["2024-03-10 02:30:00", 1, 2, 1, 2, 5, 0]])  # New York skips 02:00-03:00
    assert problems(spring, M1, zone="America/New_York") == [
        (2, "ts", "'2024-03-10 02:30:00' does not exist or is ambiguous in America/New_York (a clock change)")
    ]
