"""Backtest on real data: arch's S&P 500 daily bars imported through the CSV path, via the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.market.test_sp500 import KEY, sp500_csv


def signaldesk(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def sp500_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("sp500")
    csv = data_dir / "sp500.csv"
    sp500_csv(csv)
    imported = signaldesk("candles", "import", str(csv), "--instrument", KEY, "--interval", "1d", data_dir=data_dir)
    assert imported.returncode == 0, imported.stderr
    return data_dir


def test_sp500_backtest_report_is_sane(sp500_dir: Path) -> None:
    result = signaldesk("backtest", "--instruments", KEY, "--interval", "day", "--json", data_dir=sp500_dir)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["anchors"] == report["bars"] > 5000
    up_share = report["up_share"]
    assert 0.50 < up_share < 0.58
    rows = {(r["model_kind"], r["horizon_steps"]): r for r in report["models"]}
    assert set(rows) == {(m, h) for m in ("zero", "ewma", "ridge") for h in (1, 5)}
    for (kind, horizon), row in rows.items():
        assert row["n"] > 4900
        # Daily index returns are close to a random walk: no model may look like it leaks the future.
        assert row["hit_rate_calibrated"] < 0.6, (kind, horizon, row)
        assert 0.8 < row["mae_vs_zero"] < 1.6
    zero = rows[("zero", 1)]
    assert zero["hit_rate"] < 0.01  # an uncalibrated zero prediction is never right about the sign
    assert abs(zero["hit_rate_calibrated"] - up_share) < 0.05  # calibrated, it bets on the drift
    assert abs(zero["bias_calibrated"]) < abs(zero["bias"])  # calibration removes the mean residual


def test_backtest_names_what_is_wrong(sp500_dir: Path) -> None:
    missing = signaldesk("backtest", "--instruments", "NSE_EQ|INE002A01018", "--interval", "1d", data_dir=sp500_dir)
    assert missing.returncode == 2 and "no 1d candles stored for NSE_EQ|INE002A01018" in missing.stderr
    bad = signaldesk("backtest", "--instruments", KEY, "--interval", "7m", data_dir=sp500_dir)
    assert bad.returncode == 2 and "unknown interval" in bad.stderr
    bad = signaldesk("backtest", "--instruments", KEY, "--interval", "1d", "--horizons", "0", data_dir=sp500_dir)
    assert bad.returncode == 2 and "horizons" in bad.stderr
    assert "Traceback" not in missing.stderr + bad.stderr
