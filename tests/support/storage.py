"""Reading what a server stored, straight from its relational store (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from app.storage.db import Database

T = TypeVar("T")


async def read_database(url: str, read: Callable[[Database], Awaitable[T]]) -> T:
    """`read(db)` on a connection of the test's own to the database at `url`."""
    db = Database(url)
    try:
        return await read(db)
    finally:
        await db.close()


def default_sqlite_unused(data_dir: Path) -> bool:
    """A server told SIGNALDESK_DATABASE_URL made no relational store of its own in its data directory."""
    return not (data_dir / "signaldesk.sqlite3").exists()
