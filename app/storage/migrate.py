"""Schema migrations with Alembic, run programmatically (`signaldesk db upgrade`, and at start-up)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the database at `url` to `revision`. Blocks; runs its own event loop.

    "heads": each domain may branch its migrations off the common base (revision ids like
    `0003_jobs`, `0003_trading`), so every head is applied.
    """
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str) -> None:
    """`upgrade` from inside a running event loop (Alembic's async env needs a loop of its own)."""
    await asyncio.to_thread(upgrade, url)
