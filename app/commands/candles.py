"""`signaldesk candles ...`: import candle files, fetch Upstox's history, list what is stored.

These commands work on the database directly (migrating it first), not through a server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from app.commands.settings import load_settings, resolve_option
from app.core.config import Settings
from app.market.timestamps import iso

if TYPE_CHECKING:
    import pandas as pd

    from app.market.candles import CandleSeries
    from app.market.errors import CandleImportError
    from app.market.intervals import Interval
    from app.market.upstox.access_token import AccessToken
    from app.market.upstox.history import FetchResult, HistoryFetcher, Pacing, SpanDone

candles_cli = typer.Typer(
    help="Stored OHLCV(+OI) candles: import files, fetch Upstox's history, list what is stored.", no_args_is_help=True
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
SHOWN_PROBLEMS = 20

DataDirOption = Annotated[Path | None, typer.Option(help="Data directory (env SIGNALDESK_DATA_DIR).")]
InstrumentOption = Annotated[
    str, typer.Option(help="Instrument key (NSE_EQ|INE002A01018) or trading symbol (RELIANCE).", show_default=False)
]
IntervalOption = Annotated[str, typer.Option(help="Bar interval: 1m 3m 5m 10m 15m 30m 1h 1d or an alias.")]


def _instrument_and_interval(settings: Settings, instrument: str, interval: str) -> tuple[str, Interval]:
    """`--instrument` (a key, or a symbol of the instrument master) and `--interval`; exit 2 naming a bad one."""
    from app.market.errors import MarketDataError
    from app.market.intervals import parse_interval

    [key] = resolve_option(settings, "--instrument", [instrument])
    try:
        return key, parse_interval(interval)
    except MarketDataError as e:
        _fail(str(e))


@candles_cli.command("import")
def import_candles(
    file: Annotated[Path, typer.Argument(help="A .csv, .parquet or Upstox .json candle file.", show_default=False)],
    instrument: InstrumentOption,
    interval: IntervalOption,
    format_name: Annotated[
        str | None, typer.Option("--format", help="csv, parquet or json (default: from the extension or content).")
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option(
            help="The zone of times without a UTC offset, e.g. Asia/Kolkata (without it they are refused); "
            "a bare date is that day's session open, 09:15 IST (daily bars only).",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check a candle file and store all of it, or nothing when any row is bad (exit code 2)."""
    from app.market.errors import CandleImportError
    from app.market.importers import CandleFormat, load_candle_file
    from app.market.timestamps import time_zone

    settings = load_settings(data_dir=data_dir)
    key, iv = _instrument_and_interval(settings, instrument, interval)
    try:
        zone = time_zone(tz) if tz is not None else None
    except ValueError as e:
        _fail(f"--tz: {e}")
    formats = {f.value: f for f in CandleFormat}
    if format_name is not None and format_name.lower() not in formats:
        _fail(f"--format {format_name!r}: one of {', '.join(formats)}")
    fmt = formats[format_name.lower()] if format_name is not None else None
    with _progress() as progress:
        progress.add_task(f"checking {file.name}", total=None)
        try:
            frame = load_candle_file(file, iv, fmt, zone=zone)
        except CandleImportError as e:
            progress.stop()
            _report(e)
            raise typer.Exit(2) from e
    if frame.empty:
        out.print(f"no candles in {file}; nothing imported")
        return
    written = _store(settings, key, iv.name, frame)
    first, last = iso(int(frame["ts"].iloc[0])), iso(int(frame["ts"].iloc[-1]))
    out.print(
        f"{key} {iv.name}: {len(frame)} candles from {file} ({first} .. {last}): "
        f"{written} imported, {len(frame) - written} unchanged"
    )


@candles_cli.command("fetch")
def fetch_candles(
    instrument: InstrumentOption,
    interval: IntervalOption,
    from_date: Annotated[
        str, typer.Option("--from", help="First date (YYYY-MM-DD, IST), included.", show_default=False)
    ],
    to_date: Annotated[
        str | None, typer.Option("--to", help="Last date (YYYY-MM-DD, IST), included; default today.")
    ] = None,
    refetch: Annotated[
        bool, typer.Option("--refetch", help="Fetch spans that already hold stored candles too.")
    ] = False,
    rate: Annotated[
        float | None,
        typer.Option(help="Requests a second at most (default SIGNALDESK_UPSTOX_HISTORY_RATE, 1).", show_default=False),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Fetch Upstox's historical candles span by span into the store (token: SIGNALDESK_UPSTOX_ACCESS_TOKEN[_FILE]).

    Each span (a month of minute bars up to 15m, a quarter of 30m and 1h, a decade of days) is
    checked like a file and stored in one transaction. Spans already holding stored candles are
    skipped (but the one holding today), so running it again after an interruption goes on
    where it stopped; --refetch fetches them again. Errors exit 1; stored spans stay.
    """
    from app.market.calendar import IST
    from app.market.upstox.access_token import AccessToken
    from app.market.upstox.errors import TokenUnavailable
    from app.market.upstox.history import Pacing

    settings = load_settings(data_dir=data_dir)
    key, iv = _instrument_and_interval(settings, instrument, interval)
    today = datetime.now(IST).date()
    first = _date("--from", from_date)
    last = _date("--to", to_date) if to_date is not None else today
    if first > last:
        _fail(f"--from {first} is after --to {last}")
    if last > today:
        _fail(f"--to {last} is after today ({today} in India)")
    if rate is not None and not 0 < rate <= 50:
        _fail(f"--rate {rate:g}: between 0 and 50 requests a second")
    try:
        token = AccessToken.of_settings(settings)
        token.read()
    except TokenUnavailable as e:
        _fail(str(e))
    pacing = Pacing(rate=rate or settings.upstox_history_rate)
    _migrate(settings)
    result = _run_fetch(settings, token, pacing, key, iv, first, last, today, refetch)
    stored = f"{result.fetched} fetched" + (f", {result.skipped} already stored" if result.skipped else "")
    out.print(
        f"{key} {iv.name} {first}..{last}: {result.spans} span{'s' if result.spans != 1 else ''} ({stored}); "
        f"{result.candles} candles, {result.written} written, {result.candles - result.written} unchanged",
        markup=False,
    )


def _run_fetch(
    settings: Settings,
    token: AccessToken,
    pacing: Pacing,
    key: str,
    interval: Interval,
    first: date,
    last: date,
    today: date,
    refetch: bool,
) -> FetchResult:
    """The fetch with a progress bar (spans done / total, candles stored); exit 1 naming what failed."""
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    from app.market.errors import CandleImportError
    from app.market.upstox.errors import HistoryFetchFailed, TokenUnavailable
    from app.market.upstox.history import split_spans

    with _progress() as progress:
        spans = len(split_spans(interval, first, last))
        task = progress.add_task(f"fetching {key} {interval.name}: 0 candles stored", total=spans)
        stored = 0

        def on_span(done: SpanDone) -> None:
            nonlocal stored
            stored += done.candles
            description = f"fetching {key} {interval.name}: {stored} candles stored"
            progress.update(task, completed=done.number, description=description)

        async def run(fetcher: HistoryFetcher) -> FetchResult:
            return await fetcher.fetch(key, interval, first, last, today=today, refetch=refetch, on_span=on_span)

        try:
            return asyncio.run(_with_fetcher(settings, token, pacing, run))
        except HistoryFetchFailed as e:
            progress.stop()
            err.print(f"error: {e}", markup=False)
            if isinstance(e.cause, CandleImportError):
                _report_problems(e.cause)
            raise typer.Exit(1) from e
        except TokenUnavailable as e:
            progress.stop()
            err.print(f"error: {e}", markup=False)
            raise typer.Exit(1) from e
        except (SQLAlchemyError, sqlite3.Error) as e:
            progress.stop()
            err.print(f"error: storing failed, the span being stored was not: {e}", markup=False)
            raise typer.Exit(1) from e


async def _with_fetcher(
    settings: Settings, token: AccessToken, pacing: Pacing, run: Callable[[HistoryFetcher], Awaitable[FetchResult]]
) -> FetchResult:
    from app.market.candles import CandleStore
    from app.market.upstox.history import HistoryFetcher
    from app.market.upstox.rest import UpstoxRest
    from app.storage.db import Database

    db = Database(settings.db_url)
    rest = UpstoxRest(settings.upstox_base_url)
    try:
        return await run(HistoryFetcher(rest, token, CandleStore(db), pacing=pacing))
    finally:
        await rest.aclose()
        await db.close()


def _date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        _fail(f"{option} {text!r}: a date such as 2024-01-31")


@candles_cli.command("list")
def list_candles(data_dir: DataDirOption = None) -> None:
    """Every stored instrument and interval: first and last bar (UTC) and the number of candles."""

    settings = load_settings(data_dir=data_dir)
    _migrate(settings)
    series = asyncio.run(_series(settings.db_url))
    if not series:
        out.print("no candles stored")
        return
    rows = [("instrument_key", "interval", "first (UTC)", "last (UTC)", "candles")]
    rows += [(s.instrument_key, s.interval, iso(s.first_ts), iso(s.last_ts), str(s.count)) for s in series]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), markup=False)


def _store(settings: Settings, key: str, interval: str, frame: pd.DataFrame) -> int:
    """Upsert with a progress bar; exit 1 (nothing stored: one transaction) when the database fails."""
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    _migrate(settings)
    with _progress() as progress:
        task = progress.add_task(f"storing {key} {interval}", total=len(frame))
        try:
            return asyncio.run(
                _upsert(settings.db_url, key, interval, frame, lambda n: progress.update(task, completed=n))
            )
        except (SQLAlchemyError, sqlite3.Error) as e:
            progress.stop()
            err.print(f"error: storing failed, nothing was stored: {e}", markup=False)
            raise typer.Exit(1) from e


async def _upsert(url: str, key: str, interval: str, frame: pd.DataFrame, on_progress: Callable[[int], None]) -> int:
    from app.market.candles import CandleStore
    from app.storage.db import Database

    db = Database(url)
    try:
        return await CandleStore(db).upsert(key, interval, frame, on_progress=on_progress)
    finally:
        await db.close()


async def _series(url: str) -> list[CandleSeries]:
    from app.market.candles import CandleStore
    from app.storage.db import Database

    db = Database(url)
    try:
        return await CandleStore(db).instruments()
    finally:
        await db.close()


def _migrate(settings: Settings) -> None:
    """Create the data directory and bring the schema to head; exit 2 when the configuration cannot work."""
    from app.storage.migrate import DatabaseError, upgrade
    from app.storage.urls import shown

    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.db_url)
    except OSError as e:
        _fail(f"cannot open the database {shown(settings.db_url)} (SIGNALDESK_DATABASE_URL, --data-dir): {e}")
    except DatabaseError as e:
        _fail(str(e))


def _report(e: CandleImportError) -> None:
    err.print(f"error: {e}", markup=False)
    _report_problems(e)


def _report_problems(e: CandleImportError) -> None:
    for problem in e.problems[:SHOWN_PROBLEMS]:
        err.print(f"  {problem}", markup=False)
    if e.total > SHOWN_PROBLEMS:
        err.print(f"  ... and {e.total - SHOWN_PROBLEMS} more", markup=False)


def _fail(message: str) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(2)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
