"""The compiled trading engine (app.trading.native): the suite runs it, and a build older than
its sources is never imported."""

from __future__ import annotations

import importlib.machinery
import json
import subprocess
import sys
from pathlib import Path

from app.trading import native

WHERE = """
import app.trading.native as native
{before}
import app.trading.backtest, app.trading.engine, app.trading.trades, app.market.instrument_master.specs as specs
print(app.trading.engine.__file__, app.trading.backtest.__file__, app.trading.trades.__file__, specs.__file__)
"""


def imported_from(before: str = "") -> list[str]:
    """Where a fresh interpreter imports four of the group's modules from, one outside app.trading
    (`before` runs first)."""
    code = WHERE.format(before=before)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return [Path(f).name for f in done.stdout.split()]


def test_make_compiled_the_engine_the_suite_runs() -> None:
    # `make test` builds it first (make native): what the tests prove is what `make run` serves
    assert native.built() and native.stale() is None, "run `make native`: the trading engine is not compiled"
    names = imported_from()
    assert all(name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)) for name in names), names


def test_a_build_older_than_its_sources_is_not_imported(tmp_path: Path) -> None:
    recorded = json.loads(native.MANIFEST.read_bytes())
    recorded["app/trading/engine.py"] = "0" * 64  # as if engine.py had been edited after the build
    manifest = tmp_path / "native.json"
    manifest.write_text(json.dumps(recorded))
    assert native.stale(manifest) == "app/trading/engine.py changed since it was compiled"
    # every module of the group from its source, not only the changed one (they share one library)
    assert imported_from(f"native.guard(__import__('pathlib').Path({str(manifest)!r}))") == [
        "engine.py",
        "backtest.py",
        "trades.py",
        "specs.py",
    ]


def test_a_build_without_its_manifest_is_stale(tmp_path: Path) -> None:
    assert native.stale(tmp_path / "none.json") == "the build did not finish (no manifest)"
    (tmp_path / "bad.json").write_text("{")
    assert native.stale(tmp_path / "bad.json") == "bad.json is unreadable"
