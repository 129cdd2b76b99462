"""The stored instrument master: replaced whole by a sync, searched, looked up by symbol and key."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, case, delete, func, insert, or_, select

from app.market.instrument_master.specs import DEFAULT_LOT, DEFAULT_TICK, TradingSpec
from app.market.instrument_master.tables import Instrument
from app.storage.bulk import execute_many
from app.storage.db import Database

TABLE = cast(Table, Instrument.__table__)
CHUNK = 5_000
# Segments shown (and preferred for a bare symbol) first: the cash market, then indices.
SEGMENT_ORDER = ("NSE_EQ", "NSE_INDEX", "BSE_EQ", "BSE_INDEX")


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentInfo:
    """One instrument of the master (tick_size in rupees, expiry in epoch seconds)."""

    instrument_key: str
    trading_symbol: str
    name: str | None
    exchange: str
    segment: str
    instrument_type: str
    isin: str | None
    exchange_token: str | None
    tick_size: float | None
    lot_size: int | None
    freeze_quantity: float | None
    short_name: str | None
    security_type: str | None
    expiry: int | None
    strike_price: float | None
    underlying_key: str | None


FIELDS = tuple(InstrumentInfo.__dataclass_fields__)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _segment_rank() -> Any:
    c = TABLE.c
    return case({s: i for i, s in enumerate(SEGMENT_ORDER)}, value=c.segment, else_=len(SEGMENT_ORDER))


class InstrumentMaster:
    """The `instruments` table: see app.market.instrument_master.master_file for what is in it."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def replace(self, rows: Sequence[dict[str, Any]]) -> int:
        """The master becomes `rows`, in one transaction: readers see the old one until it commits,
        and a failure leaves it as it was."""
        async with self.db.begin() as conn:
            await conn.execute(delete(TABLE))
            for at in range(0, len(rows), CHUNK):
                await execute_many(conn, insert(TABLE), rows[at : at + CHUNK])
        return len(rows)

    async def count(self) -> int:
        async with self.db.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(TABLE))).scalar_one())

    async def search(self, q: str, limit: int) -> list[InstrumentInfo]:
        """Instruments whose trading symbol starts with `q` or whose name contains it (any case):
        the exact symbol first, then symbol prefixes, then names; within each, the cash market
        and indices before derivatives, shorter symbols first."""
        c = TABLE.c
        upper = q.strip().upper()
        pattern = _escape_like(upper)
        by_prefix = c.symbol_upper.like(f"{pattern}%", escape="\\")
        by_name = func.upper(c.name).like(f"%{pattern}%", escape="\\")
        rank = case((c.symbol_upper == upper, 0), (by_prefix, 1), else_=2)
        query = (
            select(*(c[f] for f in FIELDS))
            .where(or_(by_prefix, by_name))
            .order_by(rank, _segment_rank(), func.length(c.trading_symbol), c.trading_symbol, c.instrument_key)
            .limit(limit)
        )
        return await self._fetch(query)

    async def by_symbol(self, symbol: str, segment: str | None = None) -> list[InstrumentInfo]:
        """Every instrument with this trading symbol (any case), of `segment` when given;
        preferred segments first."""
        c = TABLE.c
        query = select(*(c[f] for f in FIELDS)).where(c.symbol_upper == symbol.upper())
        if segment is not None:
            query = query.where(c.segment == segment)
        return await self._fetch(query.order_by(_segment_rank(), c.instrument_key))

    async def by_keys(self, keys: Iterable[str]) -> dict[str, InstrumentInfo]:
        """The master's rows of these keys (keys it does not hold are left out)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, InstrumentInfo] = {}
        c = TABLE.c
        for at in range(0, len(wanted), 500):
            query = select(*(c[f] for f in FIELDS)).where(c.instrument_key.in_(wanted[at : at + 500]))
            found.update((row.instrument_key, row) for row in await self._fetch(query))
        return found

    async def trading_specs(self, keys: Iterable[str]) -> dict[str, TradingSpec]:
        """The tick and lot of each of `keys` the master holds with either (others: the default)."""
        return {
            key: TradingSpec(info.tick_size or DEFAULT_TICK, info.lot_size or DEFAULT_LOT)
            for key, info in (await self.by_keys(keys)).items()
            if info.tick_size or info.lot_size
        }

    async def _fetch(self, query: Any) -> list[InstrumentInfo]:
        async with self.db.engine.connect() as conn:
            result = await conn.execute(query)
            return [InstrumentInfo(**dict(zip(FIELDS, row, strict=True))) for row in result.all()]
