"""A table of figures is printed whole on a console narrower than it (a pipe's 80 columns)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from app.commands.performance import print_whole


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
