"""The `signaldesk` command."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from app.commands.candles import candles_cli
from app.commands.hft import hft_cli
from app.commands.instruments import instruments_cli
from app.commands.jobs import automation_cli, train_cli
from app.commands.notify import notify_cli
from app.commands.predictor import backtest, predictor_cli
from app.commands.settings import err, load_settings, prepare_database, resolve_option
from app.commands.upstox import upstox_cli
from app.commands.worker import worker
from app.core.logging import configure_logging

cli = typer.Typer(help="signaldesk: ML price prediction and intraday trading, streamed live.", no_args_is_help=True)


@cli.callback()
def _root() -> None:
    """signaldesk: ML price prediction and intraday trading, streamed live.

    Every option also reads its SIGNALDESK_* environment variable; see the README.
    """


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (env SIGNALDESK_HOST, default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (env SIGNALDESK_PORT, default 8000).")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the event log lives (env SIGNALDESK_DATA_DIR, default ./data).")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes sharing the port; more than 1 needs the Redis bus.")
    ] = 1,
) -> None:
    """Run the signaldesk server (REST, WebSockets, and the event log)."""
    from app.main import create_app  # the whole server: loaded by `serve` only, not by every command
    from app.server import serve_processes, uvicorn_config

    settings = load_settings(host=host, port=port, data_dir=data_dir)
    if workers > 1 and settings.bus_url is None:
        err.print(
            f"[red]error:[/red] --workers {workers} needs the shared Redis bus (SIGNALDESK_BUS_URL=redis://...): "
            "the embedded SQLite event log belongs to one process"
        )
        raise typer.Exit(2)
    configure_logging(settings.log_level, settings.log_format)
    prepare_database(settings, auto_upgrade=settings.db_auto_upgrade)
    settings.market_instruments = resolve_option(
        settings, "SIGNALDESK_MARKET_INSTRUMENTS", settings.market_instruments, prepare=False
    )
    err.print(f"signaldesk: http://{settings.host}:{settings.port}  (data: {settings.data_dir.resolve()})")
    if workers == 1:
        uvicorn.Server(uvicorn_config(create_app(settings, prepare_db=False), settings)).run()
        return
    # The processes read their settings from the environment: put this command's options there.
    # One simulated market for all of them: the same seed, start and anchor.
    given = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "market_anchor": settings.market_anchor or time.time(),
        "market_seed": settings.market_seed if settings.market_seed is not None else secrets.randbelow(2**31),
        "market_instruments": ",".join(settings.market_instruments) or None,  # resolved: no symbols left
    }
    os.environ.update({f"SIGNALDESK_{k.upper()}": str(v) for k, v in given.items() if v is not None})
    serve_processes(settings, workers)


db_cli = typer.Typer(help="The relational database (candles, predictions, jobs, trades).", no_args_is_help=True)
cli.add_typer(db_cli, name="db")


@db_cli.command("upgrade")
def db_upgrade(
    database_url: Annotated[
        str | None,
        typer.Option(
            help="sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST:PORT/DB (env SIGNALDESK_DATABASE_URL)."
        ),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory: the default SQLite database's (env SIGNALDESK_DATA_DIR).")
    ] = None,
) -> None:
    """Apply every pending schema migration (the server also does this at start-up, unless
    SIGNALDESK_DB_AUTO_UPGRADE=false). Safe to run from several processes at once on PostgreSQL."""
    from app.storage.urls import shown

    settings = load_settings(database_url=database_url, data_dir=data_dir)
    prepare_database(settings, auto_upgrade=True)
    err.print(f"database schema current: {shown(settings.db_url)}", markup=False)


cli.add_typer(predictor_cli, name="predictor")
cli.command("backtest")(backtest)
cli.add_typer(candles_cli, name="candles")
cli.add_typer(instruments_cli, name="instruments")
cli.add_typer(train_cli, name="train")
cli.add_typer(automation_cli, name="automation")
cli.add_typer(hft_cli, name="hft")
cli.add_typer(upstox_cli, name="upstox")
cli.add_typer(notify_cli, name="notify")
cli.command("worker")(worker)


def main() -> None:
    cli()
