"""What every command starts with: its settings (the environment with its options on top) and,
for those that use it, the database schema brought current; a wrong value ends the command
with one line naming its SIGNALDESK_* variable and exit code 2."""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console

from app.core.config import Settings

err = Console(stderr=True, soft_wrap=True)  # an error is one line, however long


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment with the CLI's options on top; a clear message when wrong."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as e:
        for problem in e.errors(include_url=False):
            field = ".".join(str(p) for p in problem["loc"]) or "settings"
            name = f"SIGNALDESK_{field.upper()}" if problem["loc"] else "settings"
            message = problem["msg"].removeprefix("Value error, ")
            err.print(f"[red]error:[/red] {name}: {message}")
        raise typer.Exit(2) from e


def prepare_database(settings: Settings, *, auto_upgrade: bool) -> None:
    """The schema brought current (or checked); exit 2 with one line when it cannot be."""
    from app.storage.migrate import (
        DatabaseError,
        prepare,
    )  # alembic and SQLAlchemy: only for commands that use the database

    try:
        if settings.database_url is None:  # the default SQLite file lives in the data directory
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        prepare(settings.db_url, auto_upgrade=auto_upgrade)
    except OSError as e:
        err.print(
            f"error: cannot create the data directory {settings.data_dir} (SIGNALDESK_DATA_DIR): {e}", markup=False
        )
        raise typer.Exit(2) from e
    except DatabaseError as e:
        err.print(f"error: {e}", markup=False)
        raise typer.Exit(2) from e


def resolve_option(settings: Settings, option: str, texts: list[str], *, prepare: bool = True) -> list[str]:
    """The instrument keys `texts` name (keys, or symbols looked up in the instrument master);
    exit 2 with one line naming `option` and the text when one cannot be resolved.
    :param prepare: bring the schema current first when a symbol needs the database (False: done already)."""
    import asyncio

    from app.market.errors import MarketDataError
    from app.market.instrument_master.resolve import resolve_at
    from app.market.instruments import InstrumentSymbol, parse_instrument

    try:
        if prepare and any(isinstance(parse_instrument(t), InstrumentSymbol) for t in texts):
            prepare_database(settings, auto_upgrade=settings.db_auto_upgrade)
        return asyncio.run(resolve_at(settings.db_url, texts))
    except MarketDataError as e:
        err.print(f"error: {option}: {e}", markup=False)
        raise typer.Exit(2) from e
