"""A performance record (app.trading.performance, as JSON) in the terminal: `backtest --trade`
and `hft performance` print it with these tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from app.market.calendar import IST


def when(ts: int | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, IST).strftime("%Y-%m-%d %H:%M IST")


def _figure(perf: dict[str, Any], name: str, fmt: str) -> str:
    value = perf[name]
    if value is None:
        return f"n/a ({perf['unavailable'].get(name, 'not known')})"
    return format(value, fmt)


def metrics_rows(perf: dict[str, Any]) -> list[tuple[str, str]]:
    dd = perf["max_drawdown"]
    recovered = when(dd["recovery_ts"]) if dd["recovery_ts"] is not None else "not recovered"
    kinds = perf["charges_by_kind"]
    return [
        ("net PnL after costs", f"{perf['net_pnl']:,.2f}"),
        ("gross PnL", f"{perf['gross_pnl']:,.2f}"),
        ("charges", f"{perf['charges']:,.2f}  (" + ", ".join(f"{k} {v:,.2f}" for k, v in kinds.items()) + ")"),
        ("open PnL", f"{perf['open_pnl']:,.2f} ({perf['open_trades']} open trades)"),
        ("return on capital", f"{perf['total_return']:.2%} of {perf['capital']:,.0f}"),
        ("trades (won / lost)", f"{perf['trades']} ({perf['wins']} / {perf['losses']})"),
        ("win rate", _figure(perf, "win_rate", ".1%")),
        ("profit factor", _figure(perf, "profit_factor", ".2f")),
        ("expectancy per trade", _figure(perf, "expectancy", ",.2f")),
        ("average win / loss", f"{_figure(perf, 'avg_win', ',.2f')} / {_figure(perf, 'avg_loss', ',.2f')}"),
        ("longest win / loss streak", f"{perf['longest_win_streak']} / {perf['longest_loss_streak']}"),
        (
            "max drawdown",
            f"{dd['amount']:,.2f} ({dd['pct']:.2f} %), from {when(dd['start_ts'])}, "
            f"trough {when(dd['trough_ts'])}, {recovered}",
        ),
        ("Sharpe (daily, 250 sessions)", _figure(perf, "sharpe", ".2f")),
        ("Sortino", _figure(perf, "sortino", ".2f")),
        ("CAGR", _figure(perf, "cagr", ".2%")),
        ("Calmar", _figure(perf, "calmar", ".2f")),
        ("exposure (bars with a position)", _figure(perf, "exposure", ".1%")),
        ("turnover", f"{perf['turnover']:,.0f} ({perf['turnover_ratio']:.1f} x capital)"),
    ]


def print_performance(console: Console, perf: dict[str, Any], title: str) -> None:
    """The metrics, then the split by instrument, horizon and exit reason."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics_rows(perf):
        table.add_row(name, value)
    console.print(table)
    for split, label in (("by_instrument", "instrument"), ("by_horizon", "horizon"), ("by_exit_reason", "exit")):
        if not perf[split]:
            continue
        groups = Table(title=f"by {label}")
        for column in (label, "trades", "win rate", "net PnL", "charges", "profit factor", "expectancy"):
            groups.add_column(column, justify="left" if column == label else "right")
        for g in perf[split]:
            groups.add_row(
                g["key"],
                str(g["trades"]),
                f"{g['win_rate']:.1%}",
                f"{g['net_pnl']:,.2f}",
                f"{g['charges']:,.2f}",
                "n/a" if g["profit_factor"] is None else f"{g['profit_factor']:.2f}",
                f"{g['expectancy']:,.2f}",
            )
        console.print(groups)
