"""`signaldesk instruments ...`: load Upstox's instrument master, look instruments up.

These commands work on the database directly (migrating it first), not through a server.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from app.commands.settings import load_settings, prepare_database

if TYPE_CHECKING:
    from app.market.instrument_master.master_file import MasterRows
    from app.market.instrument_master.store import InstrumentInfo

instruments_cli = typer.Typer(
    help="Upstox's instrument master: sync the daily file, search it (symbols resolve to keys with it).",
    no_args_is_help=True,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
SHOWN_FAULTS = 20

DataDirOption = Annotated[Path | None, typer.Option(help="Data directory (env SIGNALDESK_DATA_DIR).")]


@instruments_cli.command("sync")
def sync(
    file: Annotated[
        Path | None,
        typer.Option(
            help="An Upstox instrument file (.json.gz or .json); default: download SIGNALDESK_UPSTOX_INSTRUMENTS_URL."
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Replace the stored instrument master with Upstox's file, all at once: a refused file
    (exit 2, its bad rows named) or a failed download (exit 1) leaves the stored one as it was."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.market.instrument_master.errors import MasterDownloadError, MasterFileError

    settings = load_settings(data_dir=data_dir)
    prepare_database(settings, auto_upgrade=True)
    url = None if file is not None else settings.upstox_instruments_url
    try:
        rows = asyncio.run(_sync(settings.db_url, file, url))
    except MasterFileError as e:
        err.print(f"error: {e}; the stored instrument master is unchanged", markup=False)
        for fault in e.faults[:SHOWN_FAULTS]:
            err.print(f"  {fault}", markup=False)
        if e.total > SHOWN_FAULTS:
            err.print(f"  ... and {e.total - SHOWN_FAULTS} more", markup=False)
        raise typer.Exit(2) from e
    except MasterDownloadError as e:
        err.print(f"error: {e}; the stored instrument master is unchanged", markup=False)
        raise typer.Exit(1) from e
    except SQLAlchemyError as e:
        err.print(f"error: storing failed, the stored instrument master is unchanged: {e}", markup=False)
        raise typer.Exit(1) from e
    _report(rows, str(file) if file is not None else str(url))


@instruments_cli.command("search")
def search(
    query: Annotated[str, typer.Argument(help="A trading symbol's start or a part of the name.", show_default=False)],
    limit: Annotated[int, typer.Option(min=1, max=100, help="At most this many.")] = 20,
    data_dir: DataDirOption = None,
) -> None:
    """Instruments of the master by symbol (exact, then prefix) and name; one per line."""
    settings = load_settings(data_dir=data_dir)
    prepare_database(settings, auto_upgrade=True)
    found = asyncio.run(_search(settings.db_url, query, limit))
    if not found:
        out.print(f"no instrument matches {query!r}", markup=False)
    for info in found:
        lot = f"lot {info.lot_size}" if info.lot_size else ""
        tick = f"tick {info.tick_size:g}" if info.tick_size else ""
        line = "  ".join(x for x in (info.instrument_key, info.trading_symbol, info.name or "", tick, lot) if x)
        out.print(line, markup=False)


def _report(rows: MasterRows, source: str) -> None:
    segments = ", ".join(f"{s} {n:,}" for s, n in sorted(rows.loaded.items()))
    out.print(f"synced {len(rows.rows):,} instruments from {source} ({segments})", markup=False)
    if rows.skipped:
        skipped = ", ".join(f"{s} {n:,}" for s, n in sorted(rows.skipped.items()))
        out.print(f"skipped {sum(rows.skipped.values()):,} bad rows of other segments ({skipped}):", markup=False)
        for fault in rows.skipped_faults:
            out.print(f"  {fault}", markup=False)


async def _sync(db_url: str, file: Path | None, url: str | None) -> MasterRows:
    from app.market.instrument_master.store import InstrumentMaster
    from app.market.instrument_master.sync import sync_master
    from app.storage.db import Database

    db = Database(db_url)
    try:
        return await sync_master(InstrumentMaster(db), file=file, url=url)
    finally:
        await db.close()


async def _search(db_url: str, query: str, limit: int) -> list[InstrumentInfo]:
    from app.market.instrument_master.store import InstrumentMaster
    from app.storage.db import Database

    db = Database(db_url)
    try:
        return await InstrumentMaster(db).search(query, limit)
    finally:
        await db.close()
