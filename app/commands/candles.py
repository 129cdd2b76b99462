"""`signaldesk candles ...`: import candle files into the database and list what is stored.

These commands work on the database directly (migrating it first), not through a server.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.core.config import Settings

candles_cli = typer.Typer(help="Stored OHLCV(+OI) candles: import files, list what is stored.", no_args_is_help=True)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
SHOWN_PROBLEMS = 20

DataDirOption = Annotated[Path | None, typer.Option(help="Data directory (env SIGNALDESK_DATA_DIR).")]


@candles_cli.command("import")
def import_candles(
    file: Annotated[Path, typer.Argument(help="A .csv, .parquet or Upstox .json candle file.", show_default=False)],
    instrument: Annotated[str, typer.Option(help="Instrument key, e.g. NSE_EQ|INE002A01018.", show_default=False)],
    interval: Annotated[str, typer.Option(help="Bar interval: 1m 3m 5m 10m 15m 30m 1h 1d or an alias.")],
    format: Annotated[
        str | None, typer.Option("--format", help="csv, parquet or json (default: from the extension or content).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check a candle file and store all of it, or nothing when any row is bad (exit code 2)."""
    from app.cli import load_settings
    from app.market.errors import CandleImportError, MarketDataError
    from app.market.importers import CandleFormat, load_candle_file
    from app.market.instruments import parse_instrument_key
    from app.market.intervals import parse_interval

    settings = load_settings(data_dir=data_dir)
    try:
        key = parse_instrument_key(instrument)
        iv = parse_interval(interval)
        fmt = CandleFormat(format.lower()) if format else None
    except (MarketDataError, ValueError) as e:
        _fail(str(e) if not format or "format" not in str(e) else f"--format {format!r}: one of csv, parquet, json")
    with _progress() as progress:
        progress.add_task(f"checking {file.name}", total=None)
        try:
            frame = load_candle_file(file, iv, fmt)
        except CandleImportError as e:
            progress.stop()
            _report(e)
            raise typer.Exit(2) from e
    if frame.empty:
        out.print(f"no candles in {file}; nothing imported")
        return
    written = _store(settings, key, iv.name, frame)
    first, last = _iso(int(frame["ts"].iloc[0])), _iso(int(frame["ts"].iloc[-1]))
    out.print(
        f"{key} {iv.name}: {len(frame)} candles from {file} ({first} .. {last}): "
        f"{written} imported, {len(frame) - written} unchanged"
    )


@candles_cli.command("list")
def list_candles(data_dir: DataDirOption = None) -> None:
    """Every stored instrument and interval: first and last bar (UTC) and the number of candles."""
    from app.cli import load_settings
    from app.market.candles import CandleStore

    settings = load_settings(data_dir=data_dir)
    series = _run(settings, lambda store: store.instruments(), CandleStore)
    if not series:
        out.print("no candles stored")
        return
    table = Table("instrument_key", "interval", "first", "last", "candles")
    for s in series:
        table.add_row(s.instrument_key, s.interval, _iso(s.first_ts), _iso(s.last_ts), str(s.count))
    out.print(table)
