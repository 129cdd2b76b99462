"""The trading journal in memory (`Journal`, app.trading.journal): the latest row of every key,
per table, for backtests and unit tests. Compiled with the engine (app.trading.native): a
backtest stages and flushes through it at every phase of every bar."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from app.trading.errors import JournalError
from app.trading.journal import Row
from app.trading.tables import JOURNAL_TABLES


class MemoryJournal:
    """A table's rows are keyed by their primary key's value (a tuple when it has several columns)."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[Any, dict[str, Any]]] = {name: {} for name in JOURNAL_TABLES}
        self._keys = {name: itemgetter(*[c.name for c in t.primary_key.columns]) for name, t in JOURNAL_TABLES.items()}
        self._staged: list[tuple[str, Row]] = []
        self.flushes = 0
        self.fail_next: Exception | None = None  # tests: make the next flush fail

    def stage(self, table: str, row: Row) -> None:
        if table not in self.tables:
            raise KeyError(f"no journal table {table!r}")
        self._staged.append((table, row))

    @property
    def pending(self) -> bool:
        return bool(self._staged)

    async def flush(self) -> None:
        staged, self._staged = self._staged, []
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise JournalError(f"the trading journal could not commit {len(staged)} rows: {error}") from error
        for table, row in staged:
            rows, key = self.tables[table], self._keys[table](row)
            stored = rows.get(key)
            if stored is None:
                rows[key] = dict(row)
            else:
                stored.update(row)
        if staged:
            self.flushes += 1

    async def close(self) -> None:
        pass

    def rows(self, table: str) -> list[dict[str, Any]]:
        return list(self.tables[table].values())
