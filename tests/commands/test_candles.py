"""`signaldesk candles import|list` as a person runs them: exit codes, messages, no tracebacks."""

from __future__ import annotations

from pathlib import Path

from tests.market.candle_files import bars, csv_bytes, upstox_json
from tests.support.cli import signaldesk

KEY = "NSE_EQ|INE002A01018"


def test_import_then_reimport_then_list(tmp_path: Path) -> None:
    data = tmp_path / "data"
    file = tmp_path / "reliance.json"
    file.write_bytes(upstox_json(bars(3)))
    first = signaldesk("candles", "import", file, "--instrument", KEY, "--interval", "1minute", "--data-dir", data)
    assert first.returncode == 0, first.stderr
    assert (
        f"{KEY} 1m: 3 candles from {file} (2026-11-24T03:45:00Z .. 2026-11-24T03:47:00Z): 3 imported, 0 unchanged"
        in first.stdout
    )
    again = signaldesk("candles", "import", file, "--instrument", KEY, "--interval", "1m", "--data-dir", data)
    assert again.returncode == 0 and "0 imported, 3 unchanged" in again.stdout
    listed = signaldesk("candles", "list", "--data-dir", data)
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[1].split() == [KEY, "1m", "2026-11-24T03:45:00Z", "2026-11-24T03:47:00Z", "3"]


def test_a_bad_file_exits_2_with_the_first_20_problems_and_stores_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rows = bars(30)
    for row in rows[5:]:
        row[5] = -1  # volume
    file = tmp_path / "bad.csv"
    file.write_bytes(csv_bytes(rows))
    result = signaldesk("candles", "import", file, "--instrument", KEY, "--interval", "1m", "--data-dir", data)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: {file}: 25 bad values; nothing imported"
    assert lines[1] == "  line 7, volume: -1.0 is negative"
    assert len(lines) == 22 and lines[-1] == "  ... and 5 more"
    assert "Traceback" not in result.stderr
    assert signaldesk("candles", "list", "--data-dir", data).stdout.strip() == "no candles stored"


def test_bad_arguments_and_configuration_exit_2_with_a_message(tmp_path: Path) -> None:
    file = tmp_path / "ok.csv"
    file.write_bytes(csv_bytes(bars(2)))
    data = ["--data-dir", str(tmp_path / "data")]
    cases = [
        ((file, "--instrument", "RELIANCE!", "--interval", "1m", *data), None, "invalid instrument key 'RELIANCE!'"),
        ((file, "--instrument", KEY, "--interval", "2m", *data), None, "unknown interval '2m'"),
        ((file, "--instrument", KEY, "--interval", "1m", "--format", "xls", *data), None, "--format 'xls'"),
        ((tmp_path / "nope.csv", "--instrument", KEY, "--interval", "1m", *data), None, "cannot read"),
        (
            (file, "--instrument", KEY, "--interval", "1m", *data),
            {"SIGNALDESK_DATABASE_URL": "nonsense"},
            "SIGNALDESK_DATABASE_URL: not a database URL",
        ),
        (
            (file, "--instrument", KEY, "--interval", "1m", *data),
            {"SIGNALDESK_DATABASE_URL": "postgresql://127.0.0.1:1/x"},
            "cannot open the database postgresql+asyncpg://127.0.0.1:1/x (SIGNALDESK_DATABASE_URL)",
        ),
        ((file, "--instrument", KEY, "--interval", "1m", "--data-dir", file), None, "cannot open the database"),
        ((file, "--instrument", KEY, "--interval", "1m", *data), {"SIGNALDESK_PORT": "x"}, "SIGNALDESK_PORT"),
    ]
    for args, env, message in cases:
        result = signaldesk("candles", "import", *args, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
    assert not (tmp_path / "data" / "signaldesk.sqlite3").exists()


DAILY = "date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,1000\n2024-01-03,10.5,12,10,11,900\n"


def test_a_daily_file_of_bare_dates_imports_with_tz_and_is_refused_without(tmp_path: Path) -> None:
    data = tmp_path / "data"
    file = tmp_path / "daily.csv"
    file.write_text(DAILY)
    args = ("candles", "import", file, "--instrument", KEY, "--interval", "1d", "--data-dir", data)
    refused = signaldesk(*args)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "line 2, ts: '2024-01-02' has no UTC offset (add one, e.g. +05:30 or Z)" in refused.stderr
    unknown = signaldesk(*args, "--tz", "Mars/Base")
    assert unknown.returncode == 2 and "--tz: unknown time zone 'Mars/Base'" in unknown.stderr
    imported = signaldesk(*args, "--tz", "Asia/Kolkata")
    assert imported.returncode == 0, imported.stderr
    assert "2 candles" in imported.stdout and "(2024-01-02T03:45:00Z .. 2024-01-03T03:45:00Z)" in imported.stdout
