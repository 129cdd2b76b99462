"""`signaldesk predictor ...` (a running server's predictor) and `signaldesk backtest`."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from app.commands.client import UrlOption, call
from app.commands.hft import trade_backtest, trade_setup, trade_sweep
from app.commands.performance import print_whole, progress
from app.commands.settings import load_settings, prepare_database, resolve_option
from app.predictor.figures import DECILES, Evaluation
from app.trading.enums import AfterHalt

if TYPE_CHECKING:
    from app.predictor.backtest import BacktestReport
    from app.predictor.sweep import SweepResult

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
    ctx: typer.Context,
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
    report_path: Annotated[
        Path | None, typer.Option("--report", help="--trade: also write an HTML tearsheet to this file.")
    ] = None,
    after_halt: Annotated[
        AfterHalt,
        typer.Option(
            help="--trade: after a daily-loss halt, re-arm the desk at the next session's first bar, "
            "or stay halted for the rest of the backtest."
        ),
    ] = AfterHalt.RESUME_NEXT_SESSION,
    sweep: Annotated[
        list[str],
        typer.Option(
            help="Run a grid: `--sweep horizons=1,5,15 calib_halflife=50,100,200` (options: horizons, "
            "calib_halflife, models; `+` joins a list value, e.g. models=ridge+ewma). With --trade: "
            "`--sweep stop_vol=1,1.5,2 target_vol=1,2` (options: the strategy's and risk limits' "
            "settings, slippage_bps, horizons, calib_halflife, model; docs/trading-backtest.md)."
        ),
    ] = [],  # noqa: B006
    rank_by: Annotated[
        str | None,
        typer.Option(help="--sweep: the figure the runs are ranked by (default: dm_sq_stat; with --trade: sharpe)."),
    ] = None,
    holdout_from: Annotated[
        str | None,
        typer.Option(
            help="--sweep: hold out the sessions from this IST date (YYYY-MM-DD) on: the runs are "
            "ranked on the sessions before it, the held-out sessions' figures shown beside."
        ),
    ] = None,
) -> None:
    """Run the predictor core over stored candles and report every model against the baseline,
    with its forecast evaluation (with --sweep: over a grid of options, ranked; with --trade: the
    trading engine on paper over them, and its trade report)."""
    from app.market.errors import MarketDataError
    from app.market.intervals import parse_interval
    from app.predictor.backtest import load_aligned, run_backtest
    from app.predictor.config import PredictorConfig
    from app.predictor.evaluation import evaluate_all
    from app.predictor.sweep import RANK_FIGURES, parse_grid, rank_direction, ranked, run_sweep
    from app.storage.migrate import DatabaseError
    from app.trading.sweep import TRADE_RANK_FIGURES, parse_trade_grid
    from app.trading.system import round_trip_cost

    settings = load_settings(data_dir=data_dir)
    keys = resolve_option(settings, "--instruments", [k.strip() for k in instruments.split(",") if k.strip()])
    try:
        if ctx.args and not sweep:
            raise ValueError(f"unexpected arguments {' '.join(ctx.args)}")
        if sweep and report_path is not None:
            raise ValueError("--report writes one run's tearsheet; it does not combine with --sweep")
        if holdout_from is not None and not sweep:
            raise ValueError("--holdout-from splits a sweep's sessions; it needs --sweep")
        held_out = None if holdout_from is None else _ist_midnight(holdout_from)
        rank_by = rank_by or ("sharpe" if trade else "dm_sq_stat")
        grid = (parse_trade_grid if trade else parse_grid)([*sweep, *ctx.args]) if sweep else []
        if grid:
            rank_direction(rank_by, TRADE_RANK_FIGURES if trade else RANK_FIGURES)
        cfg = PredictorConfig(
            interval=interval, horizons=[int(h) for h in horizons.split(",")], calib_halflife=calib_halflife
        )
        data = asyncio.run(
            load_aligned(
                settings.db_url, keys, parse_interval(cfg.interval), _epoch(start, "--start"), _epoch(end, "--end")
            )
        )
        if held_out is not None and not data.open_ts[0] < held_out <= data.open_ts[-1]:
            raise ValueError(f"--holdout-from {holdout_from}: the candles leave no session before it or from it on")
    except (ValidationError, ValueError, MarketDataError, DatabaseError) as e:  # BadSweep is a ValueError
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    if trade:
        prepare_database(settings, auto_upgrade=settings.db_auto_upgrade)  # the instrument master's ticks and lots
        setup = trade_setup(settings, list(data.instruments), cfg.horizons, model, cfg.calib_halflife, after_halt)
        if grid:
            return trade_sweep(data, cfg.interval, grid, setup, rank_by, json_out, held_out)
        return trade_backtest(data, cfg.interval, setup, json_out, report_path)
    base: dict[str, Any] = {"horizons": cfg.horizons, "calib_halflife": cfg.calib_halflife}
    if grid:
        cost = round_trip_cost(settings)
        with progress(err, len(grid), "backtests") as done:
            results = run_sweep(
                data, cfg.interval, grid, base=base, round_trip=cost, holdout_from=held_out, on_done=done
            )
        results = ranked(results, rank_by)
        title = f"sweep: {len(grid)} runs, {len(keys)} instruments, {cfg.interval}, ranked by {rank_by}"
        return _print_sweep(title, results, rank_by, len(grid), json_out, holdout_from)
    report = run_backtest(data, parse_interval(cfg.interval), evaluate=True, **base)
    title = f"backtest: {len(keys)} instruments, {cfg.interval}, {report.anchors} anchors, {report.bars} bars"
    _print_backtest(title, report, evaluate_all(report.panels(), round_trip=round_trip_cost(settings)), json_out)


def _ist_midnight(text: str) -> int:
    """The start (epoch s) of the IST date `text`, YYYY-MM-DD."""
    from app.trading.record import ist_midnight

    try:
        return ist_midnight(date.fromisoformat(text))
    except ValueError as e:
        raise ValueError(f"--holdout-from {text!r}: expected an IST date, YYYY-MM-DD") from e


def _print_sweep(
    title: str, results: list[SweepResult], rank_by: str, runs: int, json_out: bool, holdout_from: str | None
) -> None:
    if json_out:
        rows = [
            {"options": r.options, **asdict(r.evaluation), "holdout": None if r.holdout is None else asdict(r.holdout)}
            for r in results
        ]
        out.print_json(data={"rank_by": rank_by, "runs": runs, "holdout_from": holdout_from, "results": rows})
        return
    if holdout_from is not None:
        title += f" before {holdout_from}, held out from {holdout_from} on"
    evaluations, options = [r.evaluation for r in results], [r.options for r in results]
    held_out = [r.holdout for r in results if r.holdout is not None] or None
    print_whole(out, evaluation_table(title, evaluations, options, rank_by, held_out))


def _print_backtest(title: str, report: BacktestReport, evaluations: list[Evaluation], json_out: bool) -> None:
    if json_out:
        out.print_json(
            data={
                "bars": report.bars,
                "anchors": report.anchors,
                "up_share": report.up_share,
                "models": report.rows(),
                "evaluation": [asdict(e) for e in evaluations],
            }
        )
        return
    table = Table(title=title)
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
    print_whole(out, table)
    out.print(f"share of up moves: {report.up_share:.4f}   ({report.bars_per_second:,.0f} bars/s)")
    print_whole(out, evaluation_table("forecast evaluation (docs/predictor.md)", evaluations))
    print_whole(out, reliability_table(evaluations))


EVALUATION_COLUMNS = {
    "model": "model_kind",
    "h": "horizon_steps",
    "anchors": "anchors",
    "IC": "ic_mean",
    "IC/IR": "ic_ir",
    "Rank IC": "rank_ic_mean",
    "RankIC/IR": "rank_ic_ir",
    "pooled IC": "pooled_ic",
    "DM sq": "dm_sq_stat",
    "p": "dm_sq_p",
    "DM abs": "dm_abs_stat",
    "p ": "dm_abs_p",
    "MASE zero": "mase_zero",
    "MASE persist": "mase_persistence",
    "L-S gross bp": "long_short_gross",
    "L-S net bp": "long_short_net",
}


def evaluation_table(
    title: str,
    evaluations: list[Evaluation],
    options: list[dict[str, Any]] | None = None,
    first: str | None = None,
    held_out: list[Evaluation] | None = None,
) -> Table:
    """One row per evaluation (after its sweep options, when given); the figure `first` (a sweep's
    ranking) leads the figures; long-short in basis points. `held_out`: each row's evaluation over
    the held-out anchors, whose anchors and `first` figure end the row."""
    names = list(options[0]) if options else []
    leading = {label: f for label, f in EVALUATION_COLUMNS.items() if f == first}
    columns = {**leading, **EVALUATION_COLUMNS}
    held = {"held-out anchors": "anchors", **{f"held-out {label.strip()}": f for label, f in leading.items()}}
    table = Table(title=title)
    for column in [*names, *columns, *(held if held_out else ())]:
        table.add_column(column.strip(), justify="right")
    for i, evaluation in enumerate(evaluations):
        cells = [_shown(options[i][name]) for name in names] if options else []
        cells += _figures(evaluation, columns)
        if held_out:
            cells += _figures(held_out[i], held)
        table.add_row(*cells)
    return table


def _figures(evaluation: Evaluation, columns: dict[str, str]) -> list[str]:
    values = asdict(evaluation)
    return [
        _shown(values[field] * 10_000 if "bp" in column and values[field] is not None else values[field])
        for column, field in columns.items()
    ]


def reliability_table(evaluations: list[Evaluation]) -> Table:
    """Per model and horizon: hit rate and mean actual return (bp) by decile of pred_ret_adj."""
    table = Table(title="reliability: hit rate / mean actual_ret (bp) by decile of pred_ret_adj (1: lowest)")
    table.add_column("model")
    table.add_column("h", justify="right")
    for d in range(1, DECILES + 1):
        table.add_column(str(d), justify="right")
    for e in evaluations:
        table.add_row(
            e.model_kind,
            str(e.horizon_steps),
            *(f"{d.hit_rate:.0%} {d.mean_actual * 10_000:+.1f}" for d in e.deciles),
        )
    return table


def _shown(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "+".join(str(v) for v in value)
    return str(value)
