"""`signaldesk hft ...` (a running server's trading engine) and `signaldesk backtest --trade`."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from app.commands.client import UrlOption, call, send
from app.commands.performance import print_performance, print_whole, progress, tearsheet
from app.market.timestamps import iso

if TYPE_CHECKING:
    from app.core.config import Settings
    from app.market.instrument_master.specs import TradingSpec
    from app.trading.backtest import TradeSetup
    from app.trading.enums import AfterHalt

hft_cli = typer.Typer(help="Start, stop, halt and watch the trading engine of a running server.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@hft_cli.command("start")
def start(
    broker: Annotated[str, typer.Option(help="paper or upstox.")] = "paper",
    safe_mode: Annotated[bool, typer.Option("--safe-mode/--no-safe-mode", help="Route every order to paper.")] = True,
    limits: Annotated[str, typer.Option(help="Stricter risk limits as JSON, e.g. '{\"max_open_trades\": 2}'.")] = "{}",
    url: UrlOption = None,
) -> None:
    """Start trading. Live orders need live trading enabled on the server AND --no-safe-mode."""
    try:
        limits_value = json.loads(limits)
    except json.JSONDecodeError as e:
        err.print(f"[red]error:[/red] --limits is not JSON: {e}")
        raise typer.Exit(2) from e
    out.print_json(
        data=call("POST", url, "/api/hft/start", {"broker": broker, "safe_mode": safe_mode, "limits": limits_value})
    )


@hft_cli.command("stop")
def stop(url: UrlOption = None) -> None:
    """Flatten every open trade, then stop."""
    out.print_json(data=call("POST", url, "/api/hft/stop"))


@hft_cli.command("halt")
def halt(
    reason: Annotated[str, typer.Option(help="Why (shown in the status).")] = "halted from the CLI",
    broker_kill_switch: Annotated[
        bool,
        typer.Option(
            "--broker-kill-switch",
            help="Also flatten, then engage the broker's own kill switch (Upstox; not paper). "
            "Upstox keeps the segments disabled for at least 12 hours.",
        ),
    ] = False,
    url: UrlOption = None,
) -> None:
    """Kill switch: no new entries; open trades are still managed."""
    body = {"reason": reason, "broker_kill_switch": broker_kill_switch}
    out.print_json(data=call("POST", url, "/api/hft/halt", body))


@hft_cli.command("resume")
def resume(url: UrlOption = None) -> None:
    """Allow entries again after a halt."""
    out.print_json(data=call("POST", url, "/api/hft/resume"))


@hft_cli.command("flatten")
def flatten(
    reason: Annotated[str | None, typer.Option(help="A note stored with the exits.")] = None, url: UrlOption = None
) -> None:
    """Close every open trade now."""
    out.print_json(data=call("POST", url, "/api/hft/flatten", {"reason": reason}))


@hft_cli.command("status")
def status(url: UrlOption = None) -> None:
    """The engine's state, keys, limits and today's PnL."""
    out.print_json(data=call("GET", url, "/api/hft/status"))


@hft_cli.command("trades")
def trades(
    status_: Annotated[str | None, typer.Option("--status", help="open or closed.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    url: UrlOption = None,
) -> None:
    """Stored trades, newest first."""
    query = f"?limit={limit}" + (f"&status={status_}" if status_ else "")
    rows = call("GET", url, f"/api/hft/trades{query}")["trades"]
    table = Table(title=f"{len(rows)} trades")
    columns = ["trade_id", "instrument_key", "qty", "entry", "stop", "target", "status", "exit", "pnl", "reason"]
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            *(
                "" if row.get(c) is None else f"{row[c]:.2f}" if isinstance(row[c], float) else str(row[c])
                for c in columns
            )
        )
    print_whole(out, table)


@hft_cli.command("performance")
def performance(
    from_: Annotated[str | None, typer.Option("--from", help="First IST date (YYYY-MM-DD).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last IST date (YYYY-MM-DD).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print it as JSON, series included.")] = False,
    report_path: Annotated[Path | None, typer.Option("--report", help="Also write an HTML tearsheet here.")] = None,
    url: UrlOption = None,
) -> None:
    """How the live and paper record did over the period (docs/performance.md)."""
    perf = send("GET", url, "/api/hft/performance", params=_period(from_, to)).json()
    title = f"performance {from_ or 'start'} to {to or 'now'}, {perf['sessions']} sessions"
    if report_path is not None:
        write_report(report_path, perf, title)
    if json_out:
        out.print_json(data=perf)
        return
    print_performance(out, perf, title)


@hft_cli.command("export")
def export(
    out_path: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
    from_: Annotated[str | None, typer.Option("--from", help="First IST date (YYYY-MM-DD).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last IST date (YYYY-MM-DD).")] = None,
    orders: Annotated[bool, typer.Option("--orders", help="The orders instead of the trades.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many rows, newest first.")] = 100_000,
    url: UrlOption = None,
) -> None:
    """The trade book (or the order book) as CSV: charges by kind, times in IST and UTC."""
    path = "/api/hft/orders.csv" if orders else "/api/hft/trades.csv"
    text = send("GET", url, path, params={**_period(from_, to), "limit": str(limit)}).text
    out_path.write_text(text, encoding="utf-8")
    err.print(f"{text.count(chr(10)) - 1} {'orders' if orders else 'trades'} written to {out_path}")


def write_report(path: Path, perf: dict[str, Any], title: str) -> None:
    """The HTML tearsheet of `perf` to `path` (said on stderr, so --json stays clean)."""
    try:
        path.write_text(tearsheet(perf, title), encoding="utf-8")
    except OSError as e:
        err.print(f"[red]error:[/red] --report {path}: {e.strerror}")
        raise typer.Exit(2) from e
    err.print(f"tearsheet written to {path}")


def _period(from_: str | None, to: str | None) -> dict[str, str]:
    return {k: v for k, v in (("from", from_), ("to", to)) if v is not None}


@hft_cli.command("positions")
def positions(url: UrlOption = None) -> None:
    """The venue's positions and funds."""
    out.print_json(data=call("GET", url, "/api/hft/positions"))


def trade_setup(
    settings: Settings,
    instruments: list[str],
    horizons: list[int],
    model_kind: str,
    calib_halflife: float,
    after_halt: AfterHalt,
) -> TradeSetup:
    """What `signaldesk backtest --trade` runs with: the settings' strategy, limits, costs and paper
    account, the command's options, and the ticks and lots of `instruments` from the instrument
    master in the settings' database."""
    from app.predictor.models import MODEL_KINDS
    from app.trading.backtest import TradeSetup
    from app.trading.system import costs_from, limits_from, paper_from, strategy_from

    if model_kind not in MODEL_KINDS:
        err.print(f"[red]error:[/red] --model {model_kind!r}: one of {', '.join(MODEL_KINDS)}")
        raise typer.Exit(2)
    return TradeSetup(
        strategy=strategy_from(settings),
        limits=limits_from(settings),
        costs=costs_from(settings),
        paper=paper_from(settings),
        horizons=tuple(horizons),
        model_kind=model_kind,
        calib_halflife=calib_halflife,
        vol_span=settings.hft_vol_span,
        after_halt=after_halt,
        specs=asyncio.run(_specs(settings.db_url, instruments)),
    )


async def _specs(db_url: str, keys: list[str]) -> dict[str, TradingSpec]:
    from app.market.instrument_master.store import InstrumentMaster
    from app.storage.db import Database

    db = Database(db_url)
    try:
        return dict(await InstrumentMaster(db).trading_specs(keys))
    finally:
        await db.close()


def trade_backtest(
    data: Any, interval: str, setup: TradeSetup, json_out: bool, report_path: Path | None = None
) -> None:
    """`signaldesk backtest --trade`: the live engine on paper over stored candles, and its report."""
    report = asyncio.run(setup.run(data, interval))
    title = (
        f"trade backtest: {len(report.instruments)} instruments, {interval}, {report.bars} bars, "
        f"{report.performance.sessions} sessions, {setup.model_kind}, paper"
    )
    if report_path is not None:
        write_report(report_path, report.performance.public(), title)
    if json_out:
        out.print_json(data=report.public())
        return
    print_performance(out, report.performance.public(), title)
    out.print(f"after a daily-loss halt: {report.after_halt.value}; daily-loss halts: {len(report.halts)}")
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(report.skipped.items())) or "-"
    out.print(f"predictions skipped: {skipped}")
    if report.halts:
        halts = Table(title="daily-loss halts (IST)")
        for column in ("date", "time", "day's PnL", "resumed", "reason"):
            halts.add_column(column, justify="right" if column == "day's PnL" else "left")
        for halt in report.halts:
            halts.add_row(halt.date, halt.time, f"{halt.day_pnl:,.2f}", halt.resumed or "-", halt.reason)
        print_whole(out, halts)
    print_whole(out, _skill_table(report.skill))
    for error in report.errors[:5]:
        out.print(f"[yellow]{error}[/yellow]")


SWEEP_COLUMNS = {
    "trades": "trades",
    "net PnL": "net_pnl",
    "return": "total_return",
    "Sharpe": "sharpe",
    "max DD %": "max_drawdown_pct",
    "profit factor": "profit_factor",
    "win rate": "win_rate",
    "halts": "halts",
}
"""The trade sweep table's figures (TradeRun's fields), by column; the ranking figure leads
them when it is another one (--json has every figure)."""
RANK_LABELS = {"Sortino": "sortino", "Calmar": "calmar", "CAGR": "cagr", "expectancy": "expectancy"}
HELD_OUT = {
    "held-out trades": "trades",
    "held-out net PnL": "net_pnl",
    "held-out Sharpe": "sharpe",
    "held-out max DD %": "max_drawdown_pct",
}
"""The held-out sessions' figures, after the others."""


def trade_sweep(
    data: Any,
    interval: str,
    grid: list[dict[str, Any]],
    setup: TradeSetup,
    rank_by: str,
    json_out: bool,
    holdout_from: int | None = None,
) -> None:
    """`signaldesk backtest --trade --sweep ...`: one trade backtest per grid point over the cores,
    one table ranked by the figure `rank_by` (it leads the figures), the held-out sessions'
    figures beside when `holdout_from` (epoch s) splits them."""
    from app.trading.strategy import ist_day
    from app.trading.sweep import ranked_runs, run_trade_sweep

    with progress(err, len(grid), "trade backtests") as done:
        runs = run_trade_sweep(data, interval, grid, base=setup, holdout_from=holdout_from, on_done=done)
    runs = ranked_runs(runs, rank_by)
    held = None if holdout_from is None else ist_day(holdout_from)
    if json_out:
        results = [run.public() for run in runs]
        out.print_json(data={"rank_by": rank_by, "runs": len(grid), "holdout_from": held, "results": results})
        return
    title = (
        f"trade sweep: {len(grid)} runs, {len(data.instruments)} instruments, {interval}, "
        f"{setup.model_kind}, paper, ranked by {rank_by}" + (f" before {held}, held out from {held} on" if held else "")
    )
    names = list(grid[0])
    first = {label: f for label, f in {**SWEEP_COLUMNS, **RANK_LABELS}.items() if f == rank_by}
    columns = {**first, **SWEEP_COLUMNS}
    table = Table(title=title)
    for column in [*names, *columns, *(HELD_OUT if held else {})]:
        table.add_column(column, justify="right")
    for run in runs:
        options = [_option(run.options[name]) for name in names]
        figures = asdict(run.figures)
        cells = [_figure(field, figures[field]) for field in columns.values()]
        if run.holdout is not None:
            held_out = asdict(run.holdout)
            cells += [_figure(field, held_out[field]) for field in HELD_OUT.values()]
        table.add_row(*options, *cells)
    print_whole(out, table)


def _option(value: Any) -> str:
    return "+".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def _figure(field: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if field in ("total_return", "cagr", "win_rate", "exposure"):
        return f"{value:.1%}"
    if field in ("net_pnl", "charges", "expectancy"):
        return f"{value:,.0f}"
    return str(value) if isinstance(value, int) else f"{value:.2f}"


def _skill_table(pairs: list[dict[str, Any]]) -> Table:
    """Each pair's skill over the run: when it first became tradable, how often, and where it ended."""
    table = Table(title="skill gate per pair (docs/predictor.md, Skill)")
    for column in ("instrument", "horizon", "first tradable", "spells", "tradable", "state", "hit rate", "chance", "p"):
        table.add_column(column, justify="left" if column in ("instrument", "state") else "right")
    for pair in pairs:
        first = pair["first_skilled"]
        table.add_row(
            pair["instrument_key"],
            str(pair["horizon_steps"]),
            "never" if first is None else iso(first),
            str(pair["spells"]),
            f"{pair['skilled_resolutions']} resolutions",
            pair["state"],
            "-" if pair["hit_rate"] is None else f"{pair['hit_rate']:.1%}",
            f"{pair['chance_rate']:.1%}",
            "-" if pair["p_value"] is None else f"{pair['p_value']:.3g}",
        )
    return table
