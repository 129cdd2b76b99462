"""`signaldesk predictor ...` (a running server's predictor) and `signaldesk backtest`."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from app.commands.client import UrlOption, call
from app.commands.hft import trade_backtest
from app.commands.settings import load_settings, prepare_database, resolve_option
from app.trading.risk import AfterHalt

predictor_cli = typer.Typer(help="Start, stop and watch the live predictor of a running server.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@predictor_cli.command("start")
def start(
    instrument: Annotated[
        list[str], typer.Option("--instrument", "-i", help="Instrument key or trading symbol; repeat. None: all.")
    ] = [],  # noqa: B006
    cfg: Annotated[str, typer.Option(help="Predictor cfg as JSON, e.g. '{\"horizons\": [1, 5]}'.")] = "{}",
    url: UrlOption = None,
) -> None:
    """Start the predictor (see docs/predictor.md for cfg)."""
    try:
        cfg_value = json.loads(cfg)
    except json.JSONDecodeError as e:
        err.print(f"[red]error:[/red] --cfg is not JSON: {e}")
        raise typer.Exit(2) from e
    out.print_json(data=call("POST", url, "/api/predictor/start", {"instruments": instrument, "cfg": cfg_value}))


@predictor_cli.command("stop")
def stop(url: UrlOption = None) -> None:
    """Stop the predictor."""
    out.print_json(data=call("POST", url, "/api/predictor/stop"))


@predictor_cli.command("status")
def status(url: UrlOption = None) -> None:
    """Show the predictor's state and counts."""
    out.print_json(data=call("GET", url, "/api/predictor/status"))


def _epoch(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as e:
        err.print(f"[red]error:[/red] {option} {text!r}: expected epoch seconds or ISO-8601")
        raise typer.Exit(2) from e
    return int((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp())


def backtest(
    instruments: Annotated[
        str, typer.Option(help="Comma-separated instrument keys (or trading symbols) with stored candles.")
    ],
    interval: Annotated[str, typer.Option(help="Candle interval (1m, 5m, 1d, or an alias).")],
    start: Annotated[str | None, typer.Option(help="First bar: epoch seconds or ISO-8601.")] = None,
    end: Annotated[str | None, typer.Option(help="Last bar: epoch seconds or ISO-8601.")] = None,
    horizons: Annotated[str, typer.Option(help="Comma-separated horizon_steps.")] = "1,5",
    calib_halflife: Annotated[float, typer.Option(help="Calibration half-life in resolutions.")] = 100.0,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (env SIGNALDESK_DATA_DIR).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    trade: Annotated[
        bool, typer.Option("--trade", help="Run the trading engine on paper and report its trades.")
    ] = False,
    model: Annotated[str, typer.Option(help="--trade: the predictor model the engine trades on.")] = "ridge",
    after_halt: Annotated[
        AfterHalt,
        typer.Option(
            help="--trade: after a daily-loss halt, re-arm the desk at the next session's first bar, "
            "or stay halted for the rest of the backtest."
        ),
    ] = AfterHalt.RESUME_NEXT_SESSION,
) -> None:
    """Run the predictor core over stored candles and report every model against the baseline
    (with --trade: the trading engine on paper over them, and its trade report)."""
    from app.market.errors import MarketDataError
    from app.market.intervals import parse_interval
    from app.predictor.backtest import load_aligned, run_backtest
    from app.predictor.config import PredictorConfig
    from app.storage.migrate import DatabaseError

    settings = load_settings(data_dir=data_dir)
    keys = resolve_option(settings, "--instruments", [k.strip() for k in instruments.split(",") if k.strip()])
    try:
        cfg = PredictorConfig(
            interval=interval, horizons=[int(h) for h in horizons.split(",")], calib_halflife=calib_halflife
        )
        data = asyncio.run(
            load_aligned(
                settings.db_url, keys, parse_interval(cfg.interval), _epoch(start, "--start"), _epoch(end, "--end")
            )
        )
    except (ValidationError, ValueError, MarketDataError, DatabaseError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    if trade:
        prepare_database(settings, auto_upgrade=settings.db_auto_upgrade)  # the instrument master's ticks and lots
        return trade_backtest(
            data, cfg.interval, cfg.horizons, model, cfg.calib_halflife, json_out, settings.db_url, after_halt
        )
    report = run_backtest(data, parse_interval(cfg.interval), horizons=cfg.horizons, calib_halflife=cfg.calib_halflife)
    if json_out:
        out.print_json(
            data={"bars": report.bars, "anchors": report.anchors, "up_share": report.up_share, "models": report.rows()}
        )
        return
    table = Table(
        title=f"backtest: {len(keys)} instruments, {cfg.interval}, {report.anchors} anchors, {report.bars} bars"
    )
    columns = [
        "model_kind",
        "horizon_steps",
        "n",
        "hit_rate",
        "hit_rate_calibrated",
        "mae",
        "mae_calibrated",
        "bias",
        "bias_calibrated",
        "mae_vs_zero",
    ]
    for column in columns:
        table.add_column(column, justify="right")
    for row in report.rows():
        table.add_row(*(f"{row[c]:.4g}" if isinstance(row.get(c), float) else str(row.get(c, "")) for c in columns))
    out.print(table)
    out.print(f"share of up moves: {report.up_share:.4f}   ({report.bars_per_second:,.0f} bars/s)")
