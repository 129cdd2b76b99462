"""Backtest on real data: arch's S&P 500 daily bars imported through the CSV path, via the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.market.test_sp500 import KEY, sp500_csv
from tests.support import cli


def signaldesk(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return cli.signaldesk(*args, "--data-dir", data_dir, env={}, timeout=120)


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

    evaluation = {(e["model_kind"], e["horizon_steps"]): e for e in report["evaluation"]}
    assert set(evaluation) == set(rows)
    for key, e in evaluation.items():
        assert e["n"] == rows[key]["n"] and e["ic_mean"] is None  # one instrument: no cross-section
        assert abs(e["pooled_ic"]) < 0.2  # daily index returns are close to a random walk ...
        assert e["dm_sq_p"] > 0.001 or e["dm_sq_stat"] > 0  # ... so nothing beats predicting 0 significantly
        assert e["mase_zero"] == pytest.approx(rows[key]["mae_calibrated"] / zero_mae(rows, key[1]))
        sizes = [d["n"] for d in e["deciles"]]
        assert len(sizes) == 10 and sum(sizes) == e["n"] and max(sizes) - min(sizes) <= 1

    # The tables, piped: every figure whole (a pipe's console is 80 columns; an ellipsis cut
    # "0.4922" to "0.49…"), the models' hit rates among them.
    tables = signaldesk("backtest", "--instruments", KEY, "--interval", "day", data_dir=sp500_dir)
    assert tables.returncode == 0, tables.stderr
    assert "…" not in tables.stdout
    assert all(f"{row['hit_rate_calibrated']:.4g}" in tables.stdout for row in rows.values())


def zero_mae(rows: dict[tuple[str, int], dict[str, float]], horizon: int) -> float:
    """The MAE of predicting 0: the uncalibrated zero model's."""
    return rows[("zero", horizon)]["mae"]


def test_a_sweep_runs_the_grid_and_ranks_it(sp500_dir: Path) -> None:
    result = signaldesk(
        "backtest",
        "--instruments",
        KEY,
        "--interval",
        "1d",
        "--start",
        "2017-01-01",
        "--sweep",
        "horizons=1,5",
        "calib_halflife=50,100",
        "--rank-by",
        "mase_zero",
        "--holdout-from",
        "2018-01-01",
        "--json",
        data_dir=sp500_dir,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["runs"] == 4 and report["rank_by"] == "mase_zero" and report["holdout_from"] == "2018-01-01"
    assert all(r["holdout"]["anchors"] > 0 and r["holdout"]["model_kind"] == r["model_kind"] for r in report["results"])
    runs = {
        (tuple(r["options"]["horizons"]), r["options"]["calib_halflife"], r["model_kind"]) for r in report["results"]
    }
    assert runs == {((h,), c, m) for h in (1, 5) for c in (50.0, 100.0) for m in ("zero", "ewma", "ridge")}
    figures = [r["mase_zero"] for r in report["results"]]
    assert figures == sorted(figures)


def test_backtest_names_what_is_wrong(sp500_dir: Path) -> None:
    missing = signaldesk("backtest", "--instruments", "NSE_EQ|INE002A01018", "--interval", "1d", data_dir=sp500_dir)
    assert missing.returncode == 2 and "no 1d candles stored for NSE_EQ|INE002A01018" in missing.stderr
    bad = signaldesk("backtest", "--instruments", KEY, "--interval", "7m", data_dir=sp500_dir)
    assert bad.returncode == 2 and "unknown interval" in bad.stderr
    bad = signaldesk("backtest", "--instruments", KEY, "--interval", "1d", "--horizons", "0", data_dir=sp500_dir)
    assert bad.returncode == 2 and "horizons" in bad.stderr
    assert "Traceback" not in missing.stderr + bad.stderr
    sweep = ["backtest", "--instruments", KEY, "--interval", "1d", "--sweep"]
    bad = signaldesk(*sweep, "horizons=1,5", "halflife=9", data_dir=sp500_dir)
    assert bad.returncode == 2 and "unknown sweep parameter 'halflife'" in bad.stderr
    bad = signaldesk(
        "backtest", "--instruments", KEY, "--interval", "1d", "--holdout-from", "2020-01-01", data_dir=sp500_dir
    )
    assert bad.returncode == 2 and "--holdout-from splits a sweep's sessions; it needs --sweep" in bad.stderr
    bad = signaldesk(*sweep, "horizons=1,5", "--holdout-from", "2020-13-01", data_dir=sp500_dir)
    assert bad.returncode == 2 and "--holdout-from '2020-13-01': expected an IST date, YYYY-MM-DD" in bad.stderr
    assert "Traceback" not in bad.stderr
