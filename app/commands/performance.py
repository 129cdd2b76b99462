"""A performance record (app.trading.performance, as JSON) shown: in the terminal (`backtest
--trade`, `hft performance`) and as an HTML tearsheet (their `--report out.html`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from html import escape
from typing import Any

from rich.console import Console
from rich.progress import Progress, TimeElapsedColumn
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


def print_whole(console: Console, table: Table) -> None:
    """Print `table` at its natural width, wider than the console if need be (a pipe's is 80
    columns): a figure cut short by an ellipsis ("19.…") reads as another number, a line the
    terminal wraps does not."""
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    if natural > console.width:  # a console prints no wider than itself: one as wide as the table
        console = Console(
            file=console.file,
            width=natural,
            color_system=console.color_system,  # type: ignore[arg-type]  # the name it was made with
            force_terminal=console.is_terminal,
            no_color=console.no_color,
        )
    console.print(table)


@contextmanager
def progress(console: Console, total: int, what: str) -> Iterator[Callable[[int], None]]:
    """A progress bar of `total` `what` on `console` (a sweep's runs, on stderr) while the block
    runs, gone after it; yields what moves it (told how many are done). Drawn on a terminal only."""
    columns = (*Progress.get_default_columns(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(what, total=total)
        yield lambda done: bar.update(task, completed=done)


def print_performance(console: Console, perf: dict[str, Any], title: str) -> None:
    """The metrics, then the split by instrument, horizon and exit reason."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics_rows(perf):
        table.add_row(name, value)
    console.print(table)
    for split, label in SPLITS:
        if not perf[split]:
            continue
        groups = Table(title=f"by {label}")
        for column in (label, *GROUP_COLUMNS):
            groups.add_column(column, justify="left" if column == label else "right")
        for row in group_rows(perf[split]):
            groups.add_row(*row)
        print_whole(console, groups)


SPLITS = (("by_instrument", "instrument"), ("by_horizon", "horizon"), ("by_exit_reason", "exit"))
GROUP_COLUMNS = ("trades", "win rate", "net PnL", "charges", "profit factor", "expectancy")


def group_rows(groups: list[dict[str, Any]]) -> list[list[str]]:
    """One split's rows: its key, then GROUP_COLUMNS."""
    return [
        [
            g["key"],
            str(g["trades"]),
            f"{g['win_rate']:.1%}",
            f"{g['net_pnl']:,.2f}",
            f"{g['charges']:,.2f}",
            "n/a" if g["profit_factor"] is None else f"{g['profit_factor']:.2f}",
            f"{g['expectancy']:,.2f}",
        ]
        for g in groups
    ]


def _svg_line(ts: list[int], values: list[float], color: str, height: int = 160) -> str:
    """A polyline of `values` over `ts`, scaled into a 1000 x `height` box, with its range labelled."""
    if len(values) < 2:
        return "<p>(too few points for a chart)</p>"
    t0, t1 = ts[0], max(ts[-1], ts[0] + 1)
    lo, hi = min(values), max(values)
    span = hi - lo or 1.0
    points = " ".join(
        f"{1000 * (t - t0) / (t1 - t0):.1f},{height - 4 - (height - 8) * (v - lo) / span:.1f}"
        for t, v in zip(ts, values, strict=True)
    )
    return (
        f'<svg viewBox="0 0 1000 {height}" preserveAspectRatio="none" role="img">'
        f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{points}"/></svg>'
        f'<p class="range">{lo:,.2f} to {hi:,.2f}; {when(t0)} to {when(ts[-1])}</p>'
    )


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def tearsheet(perf: dict[str, Any], title: str) -> str:
    """The record as one self-contained HTML page: metrics, equity and drawdown, daily PnL, splits."""
    splits = "".join(
        f"<h2>By {label}</h2>" + _html_table([label, *GROUP_COLUMNS], group_rows(perf[split]))
        for split, label in SPLITS
    )
    daily = _html_table(
        ["day (IST)", "PnL", "return", "trades", "equity"],
        [
            [d["day"], f"{d['pnl']:,.2f}", f"{d['ret']:.3%}", str(d["trades"]), f"{d['equity']:,.2f}"]
            for d in perf["daily"]
        ],
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font:14px system-ui,sans-serif;max-width:70em;margin:1em auto;padding:0 1em}}
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:right}}
td:first-child,th:first-child{{text-align:left}}svg{{width:100%;height:160px;background:#fafafa}}.range{{color:#666}}</style>
</head><body><h1>{escape(title)}</h1>
{_html_table(["metric", "value"], [list(r) for r in metrics_rows(perf)])}
<h2>Equity</h2>{_svg_line(perf["curve_ts"], perf["equity"], "#1f6feb")}
<h2>Drawdown</h2>{_svg_line(perf["curve_ts"], perf["drawdown"], "#d1242f")}
<h2>Daily PnL</h2>{daily}{splits}
<p class="range">Definitions: docs/performance.md (250 sessions a year).</p></body></html>
"""
