"""What the commands print beside their answers: a table of figures whole on a console narrower
than it (a pipe's 80 columns), and a sweep's progress on a terminal only."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from app.commands.performance import print_whole, progress


def test_a_wide_table_keeps_every_figure_whole_on_a_narrow_console() -> None:
    table = Table(title="sweep")
    for column in [f"figure {i}" for i in range(12)]:
        table.add_column(column, justify="right")
    table.add_row(*(f"{1234.5678 * (i + 1):,.2f}" for i in range(12)))
    printed = io.StringIO()
    print_whole(Console(file=printed, width=80), table)
    text = printed.getvalue()
    assert "…" not in text and all(f"{1234.5678 * (i + 1):,.2f}" in text for i in range(12))
    assert all(f"figure {i}" in text for i in range(12))
    narrow = io.StringIO()
    Console(file=narrow, width=80).print(table)  # what printing it plainly does
    assert "…" in narrow.getvalue()


def test_progress_is_drawn_on_a_terminal_to_the_end_and_nowhere_else() -> None:
    drawn = io.StringIO()
    with progress(Console(file=drawn, force_terminal=True, width=100), 3, "trade backtests") as done:
        for count in (1, 2, 3):
            done(count)
    assert "trade backtests" in drawn.getvalue() and "100%" in drawn.getvalue()
    piped = io.StringIO()
    with progress(Console(file=piped, width=100), 3, "trade backtests") as done:
        done(3)
    assert piped.getvalue() == ""
